"""The patient's medical questionnaire.

questions.py (what is asked), forms.py (the form and its checks), links.py (booking uids
and signed links, and what each may show), submissions.py (what a sent questionnaire
does, pending answers included), history.py (what the patient page shows), views.py.
"""
