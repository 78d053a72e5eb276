"""Batches of approved payouts: gather, export to the bank's files (a job), watch the progress, download."""
from flask import Blueprint

bp = Blueprint("payout_batches", __name__, url_prefix="/payouts/batches")
