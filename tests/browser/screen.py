"""What a page looks like on screen, measured the same way by every browser test."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

# axe-core from npm (a dev dependency, installed by `make install`); pages are checked
# against WCAG 2.1 A and AA.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page scrolls sideways once it has loaded (0 or less: none)."""
    page.wait_for_load_state("load")
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def accessibility_violations(page: Page) -> list[str]:
    """What axe-core finds on the page as it is now: each violated rule with the first of
    its elements. The page's context must bypass the app's Content Security Policy, which
    rightly refuses the script axe-core is injected as."""
    page.wait_for_load_state("load")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [f"{v['id']}: {v['nodes'][0]['html'][:160]}" for v in found["violations"]]
