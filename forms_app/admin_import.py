"""(being written)"""

from flask import Blueprint

bp = Blueprint("admin_import", __name__)
