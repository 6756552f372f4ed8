"""The consultants' dashboard: bookings with their patients, live (views.py, queries.py),
the tabs' counts (counts.py), marking how a past booking went (attendance.py) and the routes
that act on a booking in Cal.com (views.py, with ``webapp.cal.actions``)."""
