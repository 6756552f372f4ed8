"""The patient's medical questionnaire, landing on the profile the booking created."""
