"""The administration's home: the « getting started » checklist and the links of every admin page.

Each step's state is computed from the store and the accounts
(:func:`livret.admin.first_steps.checklist`), never ticked by hand; the
dashboard shows admins a banner linking here until every step is done.
Pages built in other modules are linked through :func:`admin_url`, which
falls back to their path when an endpoint is missing, so this page never
fails for a page that is not there.
"""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from werkzeug.routing import BuildError

from livret.admin.first_steps import checklist

from .auth import admin_required
from .state import livret

bp = Blueprint("admin_home", __name__, url_prefix="/admin")

#: endpoint -> the page's path, used when the endpoint does not exist (yet).
FALLBACKS = {
    "admin_learners.index": "/admin/apprenants/",
    "admin_learners.new": "/admin/apprenants/nouveau",
    "admin_import.index": "/admin/import/apprenants/",
    "admin_accounts.index": "/admin/comptes/",
    "admin_accounts.new": "/admin/comptes/nouveau",
    "admin_groups.index": "/admin/groupes/",
    "admin_groups.new": "/admin/groupes/nouveau",
    "admin_frameworks.index": "/admin/referentiels/",
    "admin_frameworks.upload": "/admin/referentiels/importer",
    "share.report": "/qualiopi",
}


def admin_url(endpoint: str, **values) -> str:
    """``url_for(endpoint)``, or the page's known path when the endpoint is not registered."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return FALLBACKS.get(endpoint, "/admin/")


@bp.route("/")
@admin_required
def index():
    ctx = livret()
    store = ctx.project.store
    steps = checklist(store, ctx.accounts.list())
    groups = store.groups()
    links = {endpoint: admin_url(endpoint) for endpoint in FALLBACKS}
    group_urls = {}
    for gid in groups:
        try:
            group_urls[gid] = url_for("admin_groups.show", group_id=gid)
        except BuildError:
            group_urls[gid] = f"/admin/groupes/{gid}/"
    return render_template("admin/home.html", steps=steps, links=links, groups=groups, group_urls=group_urls,
                           unassigned_url=url_for("dashboard.home", tuteur="-", statut="en-cours"))
