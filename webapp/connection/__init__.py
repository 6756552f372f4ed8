"""The consultants' view of the connection with Cal.com: ``/connection`` and its banner."""
