"""Settings read from the environment; strict outside development."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "production", "testing")
MIN_SECRET_KEY_BYTES = 32
# Flask-Limiter stores that keep their counters inside one process.
PER_PROCESS_LIMIT_STORES = ("", "memory")
# CLINIC_NAME, CLINIC_CONTACT and PRIVACY_NOTICE_URL outside production, when unset.
DEVELOPMENT_CLINIC = {
    "CLINIC_NAME": "Demo Hair Clinic",
    "CLINIC_CONTACT": "WhatsApp +90 555 000 00 00 · hello@clinic.example",
    "PRIVACY_NOTICE_URL": "https://clinic.example/privacy",
}


FLAG_VALUES = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False,
               "off": False, "no": False}  # fmt: skip


class ConfigError(RuntimeError):
    """The environment does not describe a runnable application."""


def database_url(raw: str | None, instance_path: Path) -> str:
    """Return the SQLAlchemy URL to use, defaulting to the SQLite file in ``instance/``.

    A plain ``postgresql://`` URL is rewritten to use the psycopg 3 driver.
    """
    if not raw:
        return f"sqlite:///{instance_path / 'clinic.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _development_secret(instance_path: Path, name: str) -> str:
    """Return a random secret kept in ``instance/`` so it survives restarts in development."""
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(24)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def engine_options(url: str) -> dict[str, Any]:
    """Return SQLAlchemy engine options suited to the database behind ``url``."""
    if url.startswith("sqlite"):
        # Wait for a concurrent writer instead of failing at once.
        return {"connect_args": {"timeout": 15}}
    # No JIT compilation and no parallel workers: the app's statements are short, and
    # PostgreSQL compiles any whose estimated cost passes jit_above_cost (a second of
    # compiling for 20 ms of work on /insights at 100,000 patients) and starts workers for
    # a few thousand rows, which cost more than they save and take the cores other requests
    # need. A random page read costs 1.1 sequential ones, not 4: a clinic's database is
    # read from memory or SSD, and at 4 the planner scanned every consultation to count one
    # stage's few (23 ms, against 7 ms through the indexes; docs/decisions.md 15).
    return {
        "pool_pre_ping": True,
        "connect_args": {
            "connect_timeout": 5,
            "options": "-c jit=off -c max_parallel_workers_per_gather=0 -c random_page_cost=1.1",
        },
    }


def _production_problems(secret_key: str, webhook_secret: str, limit_store: str) -> list[str]:
    """What keeps these settings from serving production safely; empty when nothing does."""
    problems = []
    missing = [
        name
        for name, value in (("SECRET_KEY", secret_key), ("CAL_WEBHOOK_SECRET", webhook_secret))
        if not value
    ]
    if missing:
        problems.append(f"production needs {' and '.join(missing)} in the environment")
    if secret_key and len(secret_key.encode()) < MIN_SECRET_KEY_BYTES:
        problems.append(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes long "
            "(python3 -c 'import secrets; print(secrets.token_hex(32))' makes one)"
        )
    if urlsplit(limit_store).scheme in PER_PROCESS_LIMIT_STORES:
        problems.append(
            "RATELIMIT_STORAGE_URI must name a store every worker and host shares, such as "
            "redis://127.0.0.1:6379/0; with memory:// each worker counts sign-in attempts "
            "alone, so the limits do not hold"
        )
    return problems


def flag(name: str, raw: str | None, default: bool) -> bool:
    """An on/off setting: ``1``, ``true``, ``on``, ``yes`` or their opposites, any case;
    ``default`` when unset or empty. Raises ``ConfigError`` for anything else."""
    if not raw or not raw.strip():
        return default
    value = FLAG_VALUES.get(raw.strip().lower())
    if value is None:
        raise ConfigError(f"{name} must be on or off (1/0, true/false), not {raw!r}")
    return value


def whole_years(name: str, raw: str | None) -> int:
    """A number of years, 0 or more; 0 when unset or empty. Raises ``ConfigError`` for
    anything else."""
    if not raw or not raw.strip():
        return 0
    try:
        years = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of years, not {raw!r}") from None
    if years < 0:
        raise ConfigError(f"{name} cannot be negative ({years})")
    return years


def load_settings(instance_path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from the environment.

    Raises ``ConfigError`` when ``APP_ENV`` is unknown, ``REQUIRE_TWO_FACTOR`` is not on or
    off, ``MEDICAL_RECORDS_MIN_YEARS`` is not a whole number of years, or when production lacks
    ``SECRET_KEY`` or ``CAL_WEBHOOK_SECRET``, has a ``SECRET_KEY`` shorter than 32 bytes,
    or keeps rate-limit counters per process (``RATELIMIT_STORAGE_URI`` unset or
    ``memory://``). The message names every problem at once.
    """
    env = os.environ if environ is None else environ
    app_env = env.get("APP_ENV", "development")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {app_env!r}")

    secret_key = env.get("SECRET_KEY", "")
    webhook_secret = env.get("CAL_WEBHOOK_SECRET", "")
    limit_store = env.get("RATELIMIT_STORAGE_URI", "")
    if app_env == "production":
        problems = _production_problems(secret_key, webhook_secret, limit_store)
        if problems:
            raise ConfigError("; ".join(problems))
    elif app_env == "development":
        secret_key = secret_key or _development_secret(instance_path, "dev-secret-key")
        webhook_secret = webhook_secret or _development_secret(instance_path, "dev-webhook-secret")
    else:
        secret_key = secret_key or secrets.token_hex(32)
        webhook_secret = webhook_secret or secrets.token_hex(32)

    url = database_url(env.get("DATABASE_URL"), instance_path)
    return {
        "APP_ENV": app_env,
        "TESTING": app_env == "testing",
        "SECRET_KEY": secret_key,
        "CAL_WEBHOOK_SECRET": webhook_secret,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "PHONE_DEFAULT_REGION": (env.get("PHONE_DEFAULT_REGION") or "").upper() or None,
        "CLINIC_TIMEZONE": env.get("CLINIC_TIMEZONE", "Europe/Istanbul"),
        # What patient-facing pages show; production may leave them empty, and the pages
        # then read well without them.
        **{
            name: env.get(name, default if app_env != "production" else "")
            for name, default in DEVELOPMENT_CLINIC.items()
        },
        "RATELIMIT_STORAGE_URI": limit_store or "memory://",
        # While the shared store is unreachable each worker counts alone rather than every
        # sign-in failing; it logs a warning and goes back to the store when it answers.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0") or 0),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": app_env == "production",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "WTF_CSRF_TIME_LIMIT": None,
        "CAL_SPOOL_DIR": env.get("CAL_SPOOL_DIR") or str(instance_path / "spool"),
        # The drainer thread applies the spool; tests start one only when they ask.
        "CAL_SPOOL_DRAINER": app_env != "testing",
        "CAL_SPOOL_DRAIN_SECONDS": 5.0,
        "CAL_API_URL": (env.get("CAL_API_URL") or "https://api.cal.com/v2").rstrip("/"),
        "CAL_API_KEY": env.get("CAL_API_KEY") or None,
        "CAL_SILENCE_ALERT_HOURS": float(env.get("CAL_SILENCE_ALERT_HOURS", "48") or 48),
        # Years a patient's record is kept after their last consultation (the clinic's
        # legal duty); erasure is refused before then (``webapp.privacy.retention``).
        "MEDICAL_RECORDS_MIN_YEARS": whole_years(
            "MEDICAL_RECORDS_MIN_YEARS", env.get("MEDICAL_RECORDS_MIN_YEARS")
        ),
        # Consultants must sign in with a second factor; one without it enrols first.
        "REQUIRE_TWO_FACTOR": flag(
            "REQUIRE_TWO_FACTOR", env.get("REQUIRE_TWO_FACTOR"), app_env == "production"
        ),
    }
