"""Access log lines keep paths but never query strings, where patient data travels."""

import logging

from webapp.security.logs import DropQueryStrings


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, msg, args, None)


def test_a_search_request_line_loses_its_query_string():
    line = record('"%s" %s %s', "GET /?q=Oliver+Bennett&tab=past HTTP/1.1", "200", "-")

    DropQueryStrings().filter(line)

    assert line.getMessage() == '"GET / HTTP/1.1" 200 -'


def test_cal_com_forwarded_parameters_are_dropped():
    line = record("GET /questionnaire?uid=abc&attendeeName=Oliver%20Bennett&phone=%2B44 HTTP/1.1")

    DropQueryStrings().filter(line)

    assert "Oliver" not in line.getMessage()
    assert "/questionnaire" in line.getMessage()


def test_paths_and_other_arguments_are_kept():
    line = record("%s %d", "/patients/12", 3)

    DropQueryStrings().filter(line)

    assert line.getMessage() == "/patients/12 3"
