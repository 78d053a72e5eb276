"""Payouts: money requests end in payments that supervisors approve with four eyes and banks receive in files."""
