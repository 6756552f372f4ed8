"""What guards every request and the patient data it carries: the response headers
(headers.py), input no column can hold refused (storable.py), logs without patient data
(logs.py)."""
