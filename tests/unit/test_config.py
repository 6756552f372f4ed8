"""Settings come from the environment, strictly outside development."""

from pathlib import Path

import pytest

from webapp.config import ConfigError, database_url, engine_options, load_settings

PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "k" * 32,
    "CAL_WEBHOOK_SECRET": "w",
    "RATELIMIT_STORAGE_URI": "redis://10.0.0.5:6379/0",
}


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY and CAL_WEBHOOK_SECRET"):
        load_settings(tmp_path, {"APP_ENV": "production"})


def test_production_takes_its_secrets_from_the_environment_and_secures_cookies(tmp_path):
    settings = load_settings(tmp_path, PRODUCTION)

    assert settings["SECRET_KEY"] == "k" * 32
    assert settings["CAL_WEBHOOK_SECRET"] == "w"
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://10.0.0.5:6379/0"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert not list(tmp_path.iterdir())  # nothing written outside development


@pytest.mark.parametrize("secret_key", ["k" * 31, "short", "é" * 15])
def test_production_refuses_a_secret_key_shorter_than_32_bytes(tmp_path, secret_key):
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32 bytes"):
        load_settings(tmp_path, PRODUCTION | {"SECRET_KEY": secret_key})


def test_a_secret_key_of_32_bytes_in_fewer_characters_is_enough(tmp_path):
    settings = load_settings(tmp_path, PRODUCTION | {"SECRET_KEY": "é" * 16})

    assert settings["SECRET_KEY"] == "é" * 16


@pytest.mark.parametrize("store", [None, "", "memory://", "memory:///"])
def test_production_refuses_a_rate_limit_store_each_worker_keeps_alone(tmp_path, store):
    environ = {name: value for name, value in PRODUCTION.items() if name != "RATELIMIT_STORAGE_URI"}
    if store is not None:
        environ["RATELIMIT_STORAGE_URI"] = store

    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path, environ)

    message = str(refused.value)
    assert "RATELIMIT_STORAGE_URI" in message
    assert "redis://" in message
    assert "each worker counts" in message


def test_production_names_every_problem_at_once(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path, {"APP_ENV": "production", "SECRET_KEY": "short"})

    message = str(refused.value)
    assert "needs CAL_WEBHOOK_SECRET" in message
    assert "SECRET_KEY must be at least 32 bytes" in message
    assert "RATELIMIT_STORAGE_URI" in message


@pytest.mark.parametrize("app_env", ["development", "testing"])
def test_development_and_testing_count_attempts_in_memory_by_default(tmp_path, app_env):
    settings = load_settings(tmp_path, {"APP_ENV": app_env})

    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"


def test_testing_makes_up_a_random_webhook_secret_unless_one_is_given(tmp_path):
    first = load_settings(tmp_path, {"APP_ENV": "testing"})
    second = load_settings(tmp_path, {"APP_ENV": "testing"})
    given = load_settings(tmp_path, {"APP_ENV": "testing", "CAL_WEBHOOK_SECRET": "from-env"})

    assert first["CAL_WEBHOOK_SECRET"] != second["CAL_WEBHOOK_SECRET"]
    assert len(first["CAL_WEBHOOK_SECRET"]) >= 32
    assert "test-webhook-secret" not in (first["CAL_WEBHOOK_SECRET"], second["CAL_WEBHOOK_SECRET"])
    assert given["CAL_WEBHOOK_SECRET"] == "from-env"
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
    production = PRODUCTION

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


def test_medical_records_min_years_is_a_whole_number_of_years_default_0(tmp_path):
    testing = {"APP_ENV": "testing"}
    assert load_settings(tmp_path, testing)["MEDICAL_RECORDS_MIN_YEARS"] == 0
    ten = load_settings(tmp_path, testing | {"MEDICAL_RECORDS_MIN_YEARS": " 10 "})
    assert ten["MEDICAL_RECORDS_MIN_YEARS"] == 10
    for wrong in ("ten", "2.5", "-1"):
        with pytest.raises(ConfigError, match="MEDICAL_RECORDS_MIN_YEARS"):
            load_settings(tmp_path, testing | {"MEDICAL_RECORDS_MIN_YEARS": wrong})


def test_postgresql_connections_compile_nothing_just_in_time_and_start_no_workers():
    """PostgreSQL's JIT spent a second compiling the insights' funnel (20 ms of work); at
    the default random_page_cost, counting a stage scanned every consultation."""
    options = engine_options("postgresql://clinic@db.example/clinic")["connect_args"]["options"]
    assert "-c jit=off" in options
    assert "-c max_parallel_workers_per_gather=0" in options
    assert "-c random_page_cost=1.1" in options
    assert "options" not in engine_options("sqlite:///clinic.db")["connect_args"]
