"""Insights: charts of the clinic's bookings over a period of weeks (charts.py: what each
counts; period.py: the clinic's weeks; views.py: the page and each chart's CSV)."""
