"""(being written) The account's security page: password, second factor."""

from flask import Blueprint, redirect, url_for

from .auth import login_required

bp = Blueprint("account_security", __name__, url_prefix="/compte")


@bp.route("/securite")
@login_required
def index():
    return redirect(url_for("auth.password"))
