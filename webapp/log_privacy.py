"""Keep patient data out of access logs: request lines lose their query strings.

Search terms (``/?q=<name>``) and the parameters Cal.com forwards on its redirect
(``/questionnaire?uid=...&attendeeName=...``) travel in query strings; paths carry only ids,
booking uids and signed tokens.
"""

from __future__ import annotations

import logging
import re

QUERY_STRING = re.compile(r"\?[^\s\"]*")


class DropQueryStrings(logging.Filter):
    """Rewrites a log record's arguments without the query strings of any URL in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                QUERY_STRING.sub("", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = QUERY_STRING.sub("", record.msg)
        return True


def install(logger_name: str = "werkzeug") -> None:
    """Attach the filter to the access logger once."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, DropQueryStrings) for existing in logger.filters):
        logger.addFilter(DropQueryStrings())
