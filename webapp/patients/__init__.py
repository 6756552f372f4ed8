"""Patients: contact details read one way (contact.py), which patient a booking belongs to
(matching.py), possible duplicates merged or kept apart (merging.py), consultants' notes
(notes.py), the top of the patient page (summary.py) and the patient pages (views.py)."""
