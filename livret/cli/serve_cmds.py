"""``livret serve`` and ``livret demo``: the only commands that start the web app.

This module is the one place where the core imports :mod:`forms_app` (the
import-linter contract names it as the exception to "the core never imports
Flask").
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

import click

from ..instance.accounts import Accounts, random_password
from ..seal import witnessed
from ..seal.keys import Keys
from ..store.french import count, seconds
from ..store.project import Project
from ..store.schema import ROLE_LABELS
from . import main
from .common import fail, require_store, root_option

DEMO_SOURCES = ("mkdocs.yml", "site_src", "portfolios")

# --------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------


#: Open connections the server accepts at once (waitress's default is 100: a class of phones exceeds it).
CONNECTION_LIMIT = 500
#: Seconds after which an idle keep-alive connection is closed.
IDLE_TIMEOUT = 30


def run_server(project: Project, host: str, port: int, *, threads: int = 8, rebuild_all: bool = True) -> None:
    """Serve the app with waitress (a production WSGI server) until interrupted."""
    from waitress import create_server

    from forms_app import create_app

    # Operational messages (rebuild failures name files, never entry content) on stderr.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s : %(message)s")
    app = create_app(project.root)
    worker = app.extensions["livret"].rebuild
    if worker is not None:
        from ..publish.processes import start_build_server

        start_build_server()  # from the main thread: a Ctrl+C never reaches it mid-start
    if rebuild_all and worker is not None:
        # Incremental: unchanged learners are skipped; edits made by hand while
        # the app was stopped reach the sites.
        for lid in project.store.learner_ids():
            worker.request(lid, urgent=False)  # a user's request goes first
    try:
        # A class signs at once (docs/attendance.md): every phone keeps its connection open, so accept
        # many more than waitress's default 100 and close the idle ones sooner than its 120 s.
        server = create_server(app, host=host, port=port, threads=threads, ident="livret",
                               clear_untrusted_proxy_headers=True, connection_limit=CONNECTION_LIMIT,
                               channel_timeout=IDLE_TIMEOUT)
    except OSError as exc:
        if worker is not None:
            worker.stop(timeout=5)
        fail(f"impossible d'écouter sur {host}:{port} ({exc.strerror}) ; choisissez un autre port : "
             f"livret serve --root {project.root} --port 8001", 2)
    def stop_on_term(signum, frame):  # systemd, docker stop: finish like Ctrl+C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"livret sert {project.root} sur http://{shown}:{server.effective_port}/ "
               "(Ctrl+C pour arrêter)", err=False)
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if worker is not None:
            worker.stop(timeout=5)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Adresse d'écoute (127.0.0.1 : cette machine seulement).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0 : un port libre).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(8, 64),
              help="Requêtes traitées en parallèle.")
@root_option
def serve(project: Project, host: str, port: int, threads: int) -> None:
    """Sert l'application (formulaires, tableaux de bord, portfolios sous /portfolio/<id>/)."""
    require_store(project)
    run_server(project, host, port, threads=threads)


# --------------------------------------------------------------------------
# Demo
# --------------------------------------------------------------------------


def demo_source() -> Path:
    """The repository root holding the shipped demo organisation."""
    import livret

    return Path(livret.__file__).resolve().parent.parent


def demo_accounts(project: Project) -> list[tuple[str, str]]:
    """(username, role) of every account the demo profiles name, plus an admin and an auditor."""
    found: dict[str, str] = {}
    for lid in project.store.learner_ids():
        profile = project.store.profile(lid)
        if profile is None:
            continue
        if profile.account:
            found.setdefault(profile.account, "learner")
        for name in profile.tutors:
            found.setdefault(name, "tutor")
        for name in profile.company_tutors:
            found.setdefault(name, "company")
    for name, role in (("admin", "admin"), ("auditeur", "auditor")):
        while name in found:
            name += "-demo"
        found[name] = role
    order = {r: i for i, r in enumerate(("admin", "tutor", "company", "learner", "auditor"))}
    return sorted(found.items(), key=lambda item: (order[item[1]], item[0]))


def make_demo(directory: Path, *, today: dt.date | None = None) -> Project:
    """Copy the shipped demo into ``directory`` (no .git), give it its own git store.

    With ``today``, the copy's dates are moved forward so that the demo reads
    as of that day (see :mod:`livret.store.demo`).
    """
    from ..store.demo import rebase_dates
    from ..store.history import History

    source = demo_source()
    missing = [name for name in DEMO_SOURCES if not (source / name).exists()]
    if missing or not any(p.is_dir() and not p.name.startswith(("_", ".")) for p in (source / "portfolios").iterdir()):
        what = ", ".join(missing) or "portfolios/<apprenant>"
        fail(f"la démonstration est introuvable dans {source} (manque : {what}) ; "
             "installez livret depuis son dépôt (pip install -e .)", 2)
    if directory.exists() and any(directory.iterdir()):
        fail(f"{directory} existe et n'est pas vide", 2)
    directory.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".tmp-*", ".livret.lock")
    for name in DEMO_SOURCES:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, directory / name, ignore=ignore)
        else:
            shutil.copy2(src, directory / name)
    project = Project.at(directory)
    if today is not None:
        rebase_dates(project.portfolios, today, timezone=project.store.settings().timezone)
    History(project.portfolios).init()
    witnessed(project)
    Keys.for_project(project).init()
    return project


#: The demo's accounts have addresses in a domain reserved for examples (RFC 2606): no mail leaves.
DEMO_MAIL_DOMAIN = "cap-competences.example"


def demo_mails(project: Project, accounts: Accounts, base_url: str) -> int:
    """What the organisation would have mailed by now: the company tutor's link to Lucas Moreau's
    workspace, and the scheduled mails that are due (meeting reminders, the tutors' weekly digest,
    escalations, the reminders of what waits for a signature: livret.planning.scheduler); written to
    the outbox at once (``.eml`` files: the demo has no mail server).  Returns how many mails were written."""
    from ..company.access import CompanyAccess
    from ..mail.sender import MailSender
    from ..planning.scheduler import run_scheduler
    from ..signoff.reminders import run_round

    profile = project.store.profile("lucas-moreau")
    if profile is not None and profile.tutors:
        for username in profile.company_tutors:
            user = accounts.get(username)
            if user is not None and user.email:
                CompanyAccess(project, accounts).send_link(profile.id, name=user.name, email=user.email,
                                                           author=profile.tutors[0], base_url=base_url)
    run_scheduler(project, base_url=base_url, extra_rounds=[("signoff", run_round)])
    return len(MailSender(project, smtp=None).run_once().sent)


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0 : un port libre).")
@click.option("--no-serve", is_flag=True, help="Préparer la démonstration sans lancer le serveur.")
@click.option("--keep-dates", is_flag=True,
              help="Garder les dates d'origine (sinon elles sont avancées pour que la démonstration soit à jour).")
def demo(directory: Path | None, host: str, port: int, no_serve: bool, keep_dates: bool) -> None:
    """Crée une démonstration dans DIRECTORY (par défaut : un dossier temporaire), la construit et la sert.

    Les comptes de démonstration et leurs mots de passe (aléatoires) sont affichés.
    """
    from ..publish.build import build_all

    directory = directory or Path(tempfile.mkdtemp(prefix="livret-demo-"))
    project = make_demo(directory, today=None if keep_dates else dt.date.today())
    accounts = Accounts.for_project(project)
    created = []
    people = project.store.people_names()
    for username, role in demo_accounts(project):
        password = random_password()
        accounts.add(username, role, password, display_name=people.get(username, ""),
                     email=f"{username}@{DEMO_MAIL_DOMAIN}")
        created.append((username, role, password))
    click.echo(f"Démonstration créée dans {project.root}")
    click.echo("")
    click.echo("Comptes de démonstration (mots de passe aléatoires) :")
    width = max(len(u) for u, _, _ in created)
    click.echo(f"  {'rôle':<24}  {'identifiant':<{width}}  mot de passe")
    for username, role, password in created:
        click.echo(f"  {ROLE_LABELS[role]:<24}  {username:<{width}}  {password}")
    click.echo("")
    click.echo("Construction des portfolios…")
    sys.stdout.flush()
    report = build_all(project)
    click.echo(f"{count(len(report.built), 'site construit', 'sites construits')} en {seconds(report.seconds)}.")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if not port:  # the links in the demo's mails name the port: choose it now
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    written = demo_mails(project, accounts, f"http://{host}:{port}")
    click.echo(f"{count(written, 'courriel écrit', 'courriels écrits')} dans {project.instance / 'outbox'} "
               "(page Administration › Courriels)")
    if no_serve:
        click.echo(f"Pour servir : livret serve --root {project.root}")
        return
    run_server(project, host, port, rebuild_all=False)
