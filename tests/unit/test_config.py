"""Settings come from the environment, strictly outside development."""

from pathlib import Path

import pytest

from webapp.config import ConfigError, database_url, load_settings


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY and CAL_WEBHOOK_SECRET"):
        load_settings(tmp_path, {"APP_ENV": "production"})


def test_production_takes_its_secrets_from_the_environment_and_secures_cookies(tmp_path):
    settings = load_settings(
        tmp_path, {"APP_ENV": "production", "SECRET_KEY": "k" * 32, "CAL_WEBHOOK_SECRET": "w"}
    )

    assert settings["SECRET_KEY"] == "k" * 32
    assert settings["CAL_WEBHOOK_SECRET"] == "w"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert not list(tmp_path.iterdir())  # nothing written outside development


def test_development_keeps_generated_secrets_in_instance(tmp_path):
    first = load_settings(tmp_path, {})
    second = load_settings(tmp_path, {})

    assert first["APP_ENV"] == "development"
    assert first["CAL_WEBHOOK_SECRET"] == second["CAL_WEBHOOK_SECRET"]
    assert (tmp_path / "dev-webhook-secret").stat().st_mode & 0o077 == 0
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'clinic.db'}"


def test_an_unknown_app_env_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_settings(tmp_path, {"APP_ENV": "staging"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////srv/clinic.db", "sqlite:////srv/clinic.db"),
    ],
)
def test_database_urls_use_psycopg_3_for_postgresql(raw, expected):
    assert database_url(raw, Path("/unused")) == expected


def test_phone_default_region_is_upper_cased_and_optional(tmp_path):
    assert load_settings(tmp_path, {"APP_ENV": "testing"})["PHONE_DEFAULT_REGION"] is None
    settings = load_settings(tmp_path, {"APP_ENV": "testing", "PHONE_DEFAULT_REGION": "gb"})
    assert settings["PHONE_DEFAULT_REGION"] == "GB"


def test_cal_com_settings_have_defaults_and_come_from_the_environment(tmp_path):
    production = {"APP_ENV": "production", "SECRET_KEY": "k" * 32, "CAL_WEBHOOK_SECRET": "w"}

    defaults = load_settings(tmp_path, production)
    given = load_settings(
        tmp_path,
        production
        | {
            "CAL_SPOOL_DIR": "/var/lib/clinic/spool",
            "CAL_API_URL": "http://127.0.0.1:9999/v2/",
            "CAL_API_KEY": "cal_live_abc",
            "CAL_SILENCE_ALERT_HOURS": "6",
        },
    )

    assert defaults["CAL_SPOOL_DIR"] == str(tmp_path / "spool")
    assert defaults["CAL_SPOOL_DRAINER"] is True
    assert defaults["CAL_API_URL"] == "https://api.cal.com/v2"
    assert defaults["CAL_API_KEY"] is None
    assert defaults["CAL_SILENCE_ALERT_HOURS"] == 48
    assert given["CAL_SPOOL_DIR"] == "/var/lib/clinic/spool"
    assert given["CAL_API_URL"] == "http://127.0.0.1:9999/v2"
    assert given["CAL_API_KEY"] == "cal_live_abc"
    assert given["CAL_SILENCE_ALERT_HOURS"] == 6


def test_tests_start_no_spool_drainer_unless_they_ask(tmp_path):
    assert load_settings(tmp_path, {"APP_ENV": "testing"})["CAL_SPOOL_DRAINER"] is False
