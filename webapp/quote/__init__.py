"""The patient's quote page (``/quote/<token>``) and the consultant's ways to send its link."""
