"""``livret user ...``, ``livret serve`` and ``livret demo``.

Accounts are in the instance database; *assignments* (which learners a user
acts on) are written in the learners' profiles, through the store, so they
are versioned with the portfolios.
"""

from __future__ import annotations

import datetime as dt

import logging
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import click
from pydantic import ValidationError

from ..accounts import AccountError, Accounts, check_role, check_username, random_password
from ..errors import InvalidInput, from_validation_error
from ..project import Project
from ..schema import ROLE_LABELS, LearnerProfile
from ..store import StoreError, UnknownLearner
from . import main
from .common import fail, root_option

ROLES = list(ROLE_LABELS)
#: Which profile key records the assignment of each role.
ASSIGNMENT_KEY = {"learner": "account", "tutor": "tutors", "company": "company_tutors"}
DEMO_SOURCES = ("mkdocs.yml", "site_src", "portfolios")


def _require_store(project: Project) -> None:
    if not project.portfolios.is_dir():
        fail(f"pas de dossier portfolios/ dans {project.root}", 2)


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated)."""
    if not from_stdin:
        return random_password(), True
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        fail("--password-stdin : aucun mot de passe lu sur l'entrée standard", 2)
    return text, False


def assigned_profile(profile: LearnerProfile, username: str, role: str) -> LearnerProfile:
    """The profile with ``username`` assigned in the key of ``role``; raise AccountError if impossible."""
    key = ASSIGNMENT_KEY.get(role)
    if key is None:
        raise AccountError(f"--learner ne s'applique pas au rôle {role} (il lit déjà tous les portfolios)")
    if key == "account":
        if profile.account not in (None, username):
            raise AccountError(f"{profile.id} a déjà un compte apprenant·e : {profile.account}")
        return profile.model_copy(update={"account": username})
    current = list(getattr(profile, key))
    if username in current:
        return profile
    data = {**profile.model_dump(), key: current + [username]}
    try:  # validate the whole profile again (a company tutor needs a company)
        return LearnerProfile.model_validate(data)
    except ValidationError as exc:
        messages = "; ".join(str(e) for e in from_validation_error(exc))
        raise AccountError(f"affectation impossible à {profile.id} : {messages}") from None


@main.group()
def user() -> None:
    """Comptes utilisateurs (base de données du dossier instance/)."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Rôle du compte.")
@click.option("--learner", "learners", multiple=True, metavar="ID",
              help="Apprenant·e suivi·e (répétable) ; pour un compte apprenant·e : son propre portfolio.")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard "
              "(sinon un mot de passe aléatoire est affiché).")
@root_option
def user_add(project: Project, name: str, role: str, learners: tuple[str, ...], password_stdin: bool) -> None:
    """Crée le compte NAME ; chaque --learner enregistre l'affectation dans le profil de l'apprenant·e."""
    _require_store(project)
    accounts = Accounts.for_project(project)
    store = project.store
    if role == "learner" and len(set(learners)) > 1:
        fail("un compte apprenant·e correspond à un seul portfolio (un seul --learner)", 2)
    # Check everything before changing anything.
    updates: list[tuple[LearnerProfile, str]] = []
    try:
        if accounts.get(name) is not None:
            raise AccountError(f"le compte {name} existe déjà")
        check_username(name)
        check_role(role)
        for lid in dict.fromkeys(learners):
            try:
                record = store.load_learner(lid)
            except UnknownLearner as exc:
                raise AccountError(str(exc)) from None
            if record.profile is None:
                raise AccountError(f"le profil de {lid} est invalide : corrigez-le d'abord (livret check)")
            updated = assigned_profile(record.profile, name, role)
            updates.append((updated, record.profile_body))
    except AccountError as exc:
        fail(str(exc), 2)
    password, generated = _read_password(password_stdin)
    try:
        accounts.add(name, role, password)
    except AccountError as exc:
        fail(str(exc), 2)
    for profile, body in updates:
        try:
            store.write_profile(profile, body, author="livret",
                                message=f"{profile.id} : affectation de {name} ({ROLE_LABELS[role].lower()})")
        except (InvalidInput, StoreError) as exc:
            fail(f"{profile.id} : affectation non enregistrée : {exc}")
    click.echo(f"Compte {name} créé ({ROLE_LABELS[role]}).")
    for profile, _ in updates:
        click.echo(f"  affecté·e à {profile.id} ({profile.name})")
    if generated:
        click.echo(f"Mot de passe : {password}")


@user.command("list")
@root_option
def user_list(project: Project) -> None:
    """Liste les comptes, leur rôle, leur état et leurs affectations."""
    users = Accounts.for_project(project).list()
    if not users:
        click.echo("Aucun compte. Créez-en un : livret user add NOM --role admin")
        return
    assigned: dict[str, list[str]] = {}
    if project.portfolios.is_dir():
        for lid in project.store.learner_ids():
            profile = project.store.profile(lid)
            if profile is None:
                continue
            for username in {profile.account, *profile.tutors, *profile.company_tutors} - {None}:
                assigned.setdefault(username, []).append(lid)
    width = max(len(u.username) for u in users)
    for u in users:
        state = "désactivé" if u.disabled else "actif"
        learners = ", ".join(assigned.get(u.username, [])) or "—"
        click.echo(f"{u.username:<{width}}  {ROLE_LABELS[u.role]:<24}  {state:<10}  {learners}")


def _set_disabled(project: Project, name: str, disabled: bool) -> None:
    try:
        Accounts.for_project(project).set_disabled(name, disabled)
    except AccountError as exc:
        fail(str(exc), 2)
    click.echo(f"Compte {name} {'désactivé' if disabled else 'réactivé'}.")


@user.command("disable")
@click.argument("name")
@root_option
def user_disable(project: Project, name: str) -> None:
    """Désactive le compte NAME (ses sessions sont fermées ; l'historique reste)."""
    _set_disabled(project, name, True)


@user.command("enable")
@click.argument("name")
@root_option
def user_enable(project: Project, name: str) -> None:
    """Réactive le compte NAME."""
    _set_disabled(project, name, False)


@user.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard "
              "(sinon un mot de passe aléatoire est affiché).")
@root_option
def user_set_password(project: Project, name: str, password_stdin: bool) -> None:
    """Change le mot de passe de NAME (ses autres sessions sont fermées)."""
    accounts = Accounts.for_project(project)
    if accounts.get(name) is None:
        fail(f"compte inconnu : {name}", 2)
    password, generated = _read_password(password_stdin)
    try:
        accounts.set_password(name, password)
    except AccountError as exc:
        fail(str(exc), 2)
    click.echo(f"Mot de passe de {name} changé.")
    if generated:
        click.echo(f"Mot de passe : {password}")


# --------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------


def run_server(project: Project, host: str, port: int, *, threads: int = 8, rebuild_all: bool = True) -> None:
    """Serve the app with waitress (a production WSGI server) until interrupted."""
    from waitress import create_server

    from forms_app import create_app

    # Operational messages (rebuild failures name files, never entry content) on stderr.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s : %(message)s")
    app = create_app(project.root)
    worker = app.extensions["livret"].rebuild
    if rebuild_all and worker is not None:
        # Incremental: unchanged learners are skipped; edits made by hand while
        # the app was stopped reach the sites.
        for lid in project.store.learner_ids():
            worker.request(lid, urgent=False)  # a user's request goes first
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="livret",
                               clear_untrusted_proxy_headers=True)
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
    _require_store(project)
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
    as of that day (see :mod:`livret.demo`).
    """
    from ..demo import rebase_dates
    from ..history import History

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
    return project


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
    from ..build import build_all

    directory = directory or Path(tempfile.mkdtemp(prefix="livret-demo-"))
    project = make_demo(directory, today=None if keep_dates else dt.date.today())
    accounts = Accounts.for_project(project)
    created = []
    for username, role in demo_accounts(project):
        password = random_password()
        accounts.add(username, role, password)
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
    click.echo(f"{len(report.built)} site(s) construit(s) en {report.seconds:.1f} s.")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if no_serve:
        click.echo(f"Pour servir : livret serve --root {project.root}")
        return
    run_server(project, host, port, rebuild_all=False)
