"""The supervisor's dashboard: what came in and went out, what is open and how late, who holds what."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
