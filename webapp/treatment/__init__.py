"""After the consultation: the assessment, the quote and where each patient stands.

``assessment`` records a consultant's assessment (versioned); ``quotes`` makes, versions
and sends quotes; ``money`` holds amounts exactly; ``settings`` the clinic's defaults;
``links`` signs the patient's quote link; ``responses`` takes the patient's answers;
``stage`` alone decides a patient's stage.
"""
