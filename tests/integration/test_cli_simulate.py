"""`flask cal simulate` signs a file and posts it to a running app, as Cal.com would."""

from sqlalchemy import func, select

from tests.conftest import FIXTURES
from webapp import create_app
from webapp.extensions import db
from webapp.models import Consultation


def test_simulate_posts_a_signed_delivery_that_the_app_accepts(app, runner, live_server):
    result = runner.invoke(
        args=[
            "cal",
            "simulate",
            str(FIXTURES / "booking_created.json"),
            "--url",
            f"{live_server}/webhooks/cal",
        ]
    )

    assert result.exit_code == 0, result.output
    assert result.output.startswith("200 ")
    assert '"processed"' in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consultation)) == 1


def test_simulate_with_the_wrong_secret_reports_the_refusal(app, live_server):
    other = create_app({"CAL_WEBHOOK_SECRET": "not-the-secret-the-server-has"})

    result = other.test_cli_runner().invoke(
        args=[
            "cal",
            "simulate",
            str(FIXTURES / "ping.json"),
            "--url",
            f"{live_server}/webhooks/cal",
        ]
    )

    assert result.exit_code == 1
    assert result.output.startswith("401 ")


def test_simulate_says_when_the_app_is_not_running(runner):
    result = runner.invoke(
        args=["cal", "simulate", str(FIXTURES / "ping.json"), "--url", "http://127.0.0.1:9/x"]
    )

    assert result.exit_code != 0
    assert "could not reach" in result.output


def test_the_served_app_logs_no_search_terms(app, live_server, caplog):
    import logging
    import urllib.request

    caplog.set_level(logging.INFO, logger="werkzeug")

    urllib.request.urlopen(f"{live_server}/healthz?q=Oliver+Bennett", timeout=5).close()  # noqa: S310

    assert "/healthz" in caplog.text
    assert "Oliver" not in caplog.text
