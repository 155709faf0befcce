"""(being written)"""

from flask import Blueprint

bp = Blueprint("admin_groups", __name__)
