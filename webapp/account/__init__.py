"""``/account``: a consultant's own password, time zone, two-factor and sessions (views.py)."""
