"""What a page looks like on screen, measured the same way by every browser test."""

from __future__ import annotations

from playwright.sync_api import Page


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page scrolls sideways once it has loaded (0 or less: none)."""
    page.wait_for_load_state("load")
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
