"""Who may do what: pages for admins only."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

View = TypeVar("View", bound=Callable[..., Any])


def admin_required(view: View) -> View:
    """Let only a signed-in admin through to ``view``: a signed-out visitor goes to the
    login page as for every page, a consultant who is not an admin gets 403."""

    @wraps(view)
    def admins_only(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return login_required(admins_only)  # type: ignore[return-value]
