"""(being written) The administration's home page."""

from flask import Blueprint, render_template_string

from .auth import admin_required

bp = Blueprint("admin_home", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index():
    return render_template_string("{% extends 'base.html' %}{% block content %}<h1>Administration</h1>{% endblock %}")
