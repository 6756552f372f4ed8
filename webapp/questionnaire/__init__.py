"""The patient's medical questionnaire.

questions.py (what is asked), forms.py (the form and its checks), links.py (booking uids
and signed links, and what each may show), drafts.py (what was typed so far), photos.py,
submissions.py (what a sent questionnaire does, pending answers included), history.py
(what the patient page shows), language.py (which language the patient's pages speak),
views.py.
"""
