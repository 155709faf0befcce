"""(being written)"""

from flask import Blueprint

bp = Blueprint("admin_accounts", __name__)
