"""(being written)"""

from flask import Blueprint

bp = Blueprint("admin_learners", __name__)
