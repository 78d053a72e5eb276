"""Numbered schema migrations: NNNN_name.py, each with up(db); run by `diwan db upgrade`."""
