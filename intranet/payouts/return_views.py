"""The bank's return files: import one for a released batch, read its report; the failed payouts to fix."""
from flask import Blueprint

bp = Blueprint("payout_returns", __name__, url_prefix="/payouts")
