"""One page of a long list, for every list the consultant pages through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    """The items of page ``page`` (from 1) of a list ``total`` long, ``per_page`` a page."""

    items: list[Item]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the whole list takes (at least one)."""
        return max(1, -(-self.total // self.per_page))
