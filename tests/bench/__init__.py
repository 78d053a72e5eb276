"""Load benchmark of the queue and request pages on a seeded database: `make bench` (run.py)."""
