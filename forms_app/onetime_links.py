"""(being written)"""

from flask import Blueprint

bp = Blueprint("onetime_links", __name__)
