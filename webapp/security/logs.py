"""Keep patient data out of logs: request lines lose their query strings, and errors are
logged by their type and frames, not their messages.

Search terms (``/?q=<name>``) and the parameters Cal.com forwards on its redirect
(``/questionnaire?uid=...&attendeeName=...``) travel in query strings; paths carry only ids,
booking uids and signed tokens.
"""

from __future__ import annotations

import logging
import re
import traceback

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


def log_failure(logger: logging.Logger, error: BaseException, context: str) -> None:
    """Log that ``context`` (ids only) failed with ``error``: its type and traceback frames,
    never its message, which can quote patient data (a value in a failed query, an answer
    in a ``ValueError``)."""
    logger.error(
        "%s failed with %s\n%s",
        context,
        type(error).__name__,
        "".join(traceback.format_tb(error.__traceback__)).rstrip(),
    )
