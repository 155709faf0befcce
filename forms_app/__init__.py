"""The livret web app: sign-in, dashboards, entry forms, built portfolios.

Views never touch files: they call the core's store API
(:mod:`livret.store`), the access policy (:mod:`livret.instance.access`) and the
derived views (:mod:`livret.views.progress`).  Accounts are in the instance
database (:mod:`livret.instance.accounts`); sites are rebuilt in the background
(:mod:`livret.publish.rebuild`).

Adding a blueprint (share links, the JSON API...): write a module in this
package that defines ``bp`` (a :class:`flask.Blueprint`) and add its name to
:data:`BLUEPRINT_MODULES`.  Auth helpers (``current_user``,
``login_required``, ``learner_or_404_403``...) are in :mod:`forms_app.auth`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from livret.instance.accounts import Accounts
from livret.instance.sessions import SESSION_LIFETIME
from livret.jobs import open_jobs
from livret.mail.sender import MailSender
from livret.planning.scheduler import SchedulerThread
from livret.publish.build import clean_leftovers
from livret.publish.rebuild import RebuildWorker
from livret.seal import witnessed
from livret.seal.upkeep import SealUpkeep
from livret.signoff.reminders import run_round as signoff_round
from livret.store.project import Project
from livret.store.watch import enabled_by_environment

from . import errors, filters, security
from .state import Livret

#: Modules of this package that define a blueprint ``bp``, registered in this order.
BLUEPRINT_MODULES: list[str] = ["auth", "dashboard", "entries", "portfolio", "share", "audit_pack", "api",
                                 "api_tokens", "wellknown", "onetime_links", "account_security", "admin_home",
                                 "admin_learners", "admin_groups", "admin_import", "admin_accounts",
                                 "admin_frameworks", "bulk", "signoff", "company", "password_reset",
                                 "invitations", "admin_mail", "worksite", "feeds", "followup",
                                 "plans", "agenda", "attendance", "attendance_documents", "sessions",
                                 "learner_attendance", "accessibility"]

csrf = CSRFProtect()
babel = Babel()


def create_app(project_root: Path | str, *, testing: bool = False, config: dict[str, Any] | None = None) -> Flask:
    """The app for the project at ``project_root``.

    ``config`` overrides settings; livret's own keys:

    - ``LIVRET_REBUILD`` (default: True, False when ``testing``): rebuild
      learners' sites in a background thread after each submit.
    - ``LIVRET_SEAL_UPKEEP`` (default: True, False when ``testing``): push the
      journal to the witness repository and timestamp it daily, in a thread,
      when ``_organisation.yml`` configures them (:mod:`livret.seal.upkeep`);
    - ``LIVRET_JOB_WORKERS`` (default: 1): threads that run background jobs
      (audit packs), outside the request threads.
    - ``LIVRET_MAIL_SENDER`` (default: True, False when ``testing``): deliver
      the outbox in a background thread (:mod:`livret.mail.sender`); tests
      call its ``run_once()`` or use ``livret mail send-queued``.
    - ``LIVRET_REMINDERS`` (default: True, False when ``testing``): run the
      scheduler every hour in one thread (:mod:`livret.planning.scheduler`:
      meeting reminders, weekly digests, escalations and the sign-off
      reminders of :mod:`livret.signoff.reminders`).
    """
    project = Project.at(project_root)
    project.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(project.instance), instance_relative_config=False)
    settings = project.store.settings()
    max_upload = int(settings.uploads.max_mb * 1024 * 1024)
    app.config.update(
        TESTING=testing,
        SECRET_KEY=security.load_secret_key(project.instance),
        SESSION_COOKIE_NAME="livret_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=security.https_forced(),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,  # the cookie lives as long as its server-side session
        # One request carries at most a few attachments: the per-file limit is
        # checked by the store (with a message next to the field); this one
        # refuses a huge body before it is read.
        MAX_CONTENT_LENGTH=3 * max_upload + 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=True,
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        LIVRET_REBUILD=not testing,
        LIVRET_JOB_WORKERS=1,
        LIVRET_SEAL_UPKEEP=not testing,
        LIVRET_MAIL_SENDER=not testing,
        LIVRET_REMINDERS=not testing,
    )
    if config:
        app.config.update(config)
    security.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: "fr", timezone_selector=lambda: settings.timezone)
    filters.init_app(app)
    errors.init_app(app)

    worker = RebuildWorker(project) if app.config["LIVRET_REBUILD"] else None
    accounts = Accounts.for_project(project)
    accounts.db.keep_open()  # see InstanceDB.keep_open: requests keep working on a full disk
    # Jobs interrupted by a stop are marked so, and leftovers of killed builds removed, at start.
    jobs = open_jobs(project.instance, workers=app.config["LIVRET_JOB_WORKERS"])
    clean_leftovers(project.build_dir)
    upkeep = SealUpkeep(project)
    mail = MailSender(project) if app.config["LIVRET_MAIL_SENDER"] else None
    state = app.extensions["livret"] = Livret(project=project, accounts=accounts, rebuild=worker, jobs=jobs,
                                              seal=upkeep, mail=mail)
    if project.portfolios.is_dir() and enabled_by_environment():
        project.store.watch_changes()  # the kernel says which learners changed (livret.store.watch)
    if project.portfolios.is_dir():
        witnessed(project)  # every commit the app makes is journaled (livret.seal), before any follower
    project.store.after_commit.append(state.rebuild_after)
    for name in BLUEPRINT_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        app.register_blueprint(module.bp)

    if project.portfolios.is_dir():
        project.store.recover()
    if worker is not None:
        worker.start()
    if mail is not None:
        mail.start()
    seal = settings.seal
    if app.config["LIVRET_SEAL_UPKEEP"] and (seal.witness_remote or seal.tsa_url):
        upkeep.start()
    if app.config["LIVRET_REMINDERS"] and project.portfolios.is_dir():
        app.extensions["livret_reminders"] = SchedulerThread(
            project, extra_rounds=[("signoff", signoff_round)]).start()
    return app
