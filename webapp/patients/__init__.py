"""Patients: identity matching and the consultant's patient pages."""
