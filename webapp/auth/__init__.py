"""Consultant logins: accounts (consultants.py), sessions that expire (sessions.py),
rate-limited sign-in (views.py, forms.py) and ``flask consultants`` (cli.py)."""
