"""The database as every feature meets it: the booking lock (locks.py), work that races
another transaction's insert (conflicts.py), ``/healthz``, which says whether the database
answers (health.py), and what the models declare for each database (schema.py)."""
