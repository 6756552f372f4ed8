"""The consultants' dashboard: bookings with their patients, live (views.py, queries.py),
the tabs' counts (counts.py), marking how a past booking went (attendance.py), and the
buttons that act on a booking (controls.py; their routes in views.py call
``webapp.cal.actions``)."""
