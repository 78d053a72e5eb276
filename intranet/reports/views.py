"""The archive of printed documents and their print views."""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")
