"""`GET /healthz` tells a load balancer whether the app and its database answer."""

import logging

import pytest

from tests.conftest import app_settings
from tests.integration.test_spool import UNREACHABLE
from webapp import create_app


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_does_not_answer():
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        (UNREACHABLE["sqlite"], "sqlite3.OperationalError SQLITE_CANTOPEN"),
        (UNREACHABLE["postgresql"], "psycopg."),
        # A database without its tables: the statement is named, with placeholders only.
        ("sqlite:///{tmp}/empty.db", "SQLITE_ERROR in 'SELECT consultants.id"),
    ],
)
def test_a_page_without_its_database_is_503_and_the_log_names_the_drivers_error(
    url, logged, tmp_path, caplog, monkeypatch
):
    # Alembic's fileConfig (test_migrations) disables the loggers that exist by then.
    monkeypatch.setattr(logging.getLogger("webapp.errors"), "disabled", False)
    settings = app_settings(url.format(tmp=tmp_path), tmp_path) | {"WTF_CSRF_ENABLED": False}
    client = create_app(settings).test_client()

    with caplog.at_level(logging.ERROR, logger="webapp.errors"):
        response = client.post(
            "/login", data={"email": "oliver@example.com", "password": "a long password"}
        )

    assert response.status_code == 503
    assert "the database is unavailable" in response.get_data(as_text=True)
    [line] = [r.getMessage() for r in caplog.records if r.name == "webapp.errors"]
    assert line.startswith("database unavailable on POST /login: ")
    assert logged in line
    assert "oliver" not in line
