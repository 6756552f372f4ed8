"""Patients: contact details read one way (contact.py), which patient a booking belongs to
(matching.py), and the consultant's patient pages (views.py)."""
