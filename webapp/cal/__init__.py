"""Cal.com: signed deliveries (signature.py, webhook.py) read into one typed booking
(payload.py, questions.py), kept and processed once (deliveries.py, spool.py), applied to
patients and consultations by one operation (events.py); Cal.com's API (api.py),
reconciliation with it (reconcile.py) and a consultant's actions on a booking through it
(actions.py); ``flask cal`` (cli.py)."""
