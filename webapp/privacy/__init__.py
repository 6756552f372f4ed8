"""A patient's data rights: their whole record out (JSON, photos, FHIR R4), erasure that
keeps the clinic's books, retention, and what each column holds (``personal_data``)."""
