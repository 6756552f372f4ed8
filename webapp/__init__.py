"""The clinic's web application: ``create_app()`` builds it from the environment."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import load_settings
from webapp.extensions import csrf, db, htmx, limiter, login_manager, migrate
from webapp.security import logs

ROOT = Path(__file__).resolve().parent.parent


class ClinicApp(Flask):
    """Flask, except that an error no handler caught is logged by its frames only."""

    def log_exception(self, exc_info: Any) -> None:
        """Replaces Flask's full traceback, whose message can quote patient data."""
        from webapp.errors import log_unexpected

        if exc_info[1] is not None:
            log_unexpected(exc_info[1])


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings from the environment, then ``overrides`` (tests)."""
    app = ClinicApp(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_settings(Path(app.instance_path)))
    if overrides:
        app.config.update(overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logs.install()

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    db.init_app(app)
    with app.app_context():
        configure_connections(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)

    from webapp import cli, errors
    from webapp.account import views as account_views
    from webapp.audit import views as audit_views
    from webapp.auth import cli as auth_cli
    from webapp.auth import sessions
    from webapp.auth import views as auth_views
    from webapp.cal import cli as cal_cli
    from webapp.cal import spool, webhook
    from webapp.connection import views as connection_views
    from webapp.dashboard import views as dashboard_views
    from webapp.database import health
    from webapp.insights import views as insights_views
    from webapp.pages import filters
    from webapp.patients import views as patient_views
    from webapp.privacy import cli as privacy_cli
    from webapp.privacy import views as privacy_views
    from webapp.questionnaire import language
    from webapp.questionnaire import views as questionnaire_views
    from webapp.quote import views as quote_views
    from webapp.security import headers, storable
    from webapp.team import views as team_views
    from webapp.treatment import views as treatment_views

    for blueprint in (
        webhook.bp,
        health.bp,
        auth_views.bp,
        dashboard_views.bp,
        patient_views.bp,
        questionnaire_views.bp,
        connection_views.bp,
        audit_views.bp,
        team_views.bp,
        account_views.bp,
        insights_views.bp,
        treatment_views.bp,
        quote_views.bp,
        privacy_views.bp,
    ):
        app.register_blueprint(blueprint)
    errors.register(app)
    storable.register(app)
    sessions.register(app)
    headers.register(app)
    filters.register(app)
    spool.register(app)
    language.register(app)
    for commands in (cal_cli, auth_cli, privacy_cli, cli):
        commands.register(app)
    return app


def configure_connections(engine: Engine) -> None:
    """Give every new connection of ``engine`` the settings the app relies on."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connection)
        event.listen(engine, "begin", _sqlite_begin)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_connection)


def _sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Make SQLite honour foreign keys and let SQLAlchemy own transactions (savepoints)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Start SQLite transactions explicitly, since pysqlite's own are disabled above.

    ``IMMEDIATE`` takes the write lock up front, so concurrent writers queue behind the
    busy timeout instead of failing when a read would turn into a write.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _postgresql_connection(dbapi_connection: Any, _record: Any) -> None:
    """Read times in UTC whatever the server's default zone: psycopg cannot read a stored
    time whose local form falls outside years 1 to 9999 (0001-01-01 UTC in New York)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()
