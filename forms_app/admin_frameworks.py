"""(being written)"""

from flask import Blueprint

bp = Blueprint("admin_frameworks", __name__)
