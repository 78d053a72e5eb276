"""Notifications: what the citizen (and staff) are told at each step, how it is worded, and how it leaves."""
