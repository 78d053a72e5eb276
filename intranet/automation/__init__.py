"""Straight-through processing (issue 17): rules as data (rules.py), registry adapters (registries.py, the HTTP
client in registries_http.py), the engine that decides a submitted request and keeps the evidence (engine.py), and
the controls (exceptions, pauses, ceilings: controls.py)."""
