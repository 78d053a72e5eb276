"""Statistics by governorate and by request type over any range of days, every table as CSV and XLSX."""
from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/stats")
