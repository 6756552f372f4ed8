"""The consultants' dashboard: bookings with their patients, live."""
