"""Browser tests drive Debian's Chromium; Playwright cannot download its own browser here.

They run on one database: PostgreSQL, the production one, when the run has it, else SQLite.
They prove what a person sees and does; what the database does with it (matching, search,
counts, the change cursor a poll reads) is proven on both databases by the integration
tests, and running every browser test twice would double the slowest part of the suite.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import BACKENDS, backend_database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="session", params=BACKENDS[-1:])
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The one database the browser tests share (see the module's docstring)."""
    with backend_database(request.param, tmp_path_factory) as url:
        yield url
