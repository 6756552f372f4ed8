"""Made-up patients and bookings that look like a clinic's, for trying the app (``flask dev
seed``) and for the benchmarks (``bench/``); never for production (bookings.py)."""
