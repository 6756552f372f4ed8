"""The audit trail: who did what, when (trail.py), and its pages (views.py)."""
