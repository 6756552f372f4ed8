"""Cal.com integration: signed webhook deliveries turned into patients and consultations."""
