"""The consultants' dashboard: bookings with their patients, live (views.py, queries.py),
the tabs' counts (counts.py) and marking how a past booking went (attendance.py)."""
