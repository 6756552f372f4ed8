"""The database as every feature meets it: the booking lock (locks.py), work that races
another transaction's insert (conflicts.py), and ``/healthz``, which says whether the
database answers (health.py)."""
