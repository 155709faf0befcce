"""``livret user ...``: accounts.

Accounts are in the instance database; *assignments* (which learners a user
acts on) are written in the learners' profiles, through the store, so they
are versioned with the portfolios.
"""


import sys

import click
from pydantic import ValidationError

from ..instance.accounts import AccountError, Accounts, check_role, check_username, random_password
from ..seal import witnessed
from ..store import StoreError, UnknownLearner
from ..store.errors import InvalidInput, from_validation_error
from ..store.project import Project
from ..store.schema import ROLE_LABELS, LearnerProfile
from . import main
from .common import fail, require_store, root_option

ROLES = list(ROLE_LABELS)
#: Which profile key records the assignment of each role.
ASSIGNMENT_KEY = {"learner": "account", "tutor": "tutors", "company": "company_tutors"}


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
    require_store(project)
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
    if updates:
        witnessed(project)
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


@user.command("set-role")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Nouveau rôle du compte.")
@root_option
def user_set_role(project: Project, name: str, role: str) -> None:
    """Change le rôle de NAME (ses sessions sont fermées : il se reconnecte avec ses nouveaux droits)."""
    try:
        Accounts.for_project(project).set_role(name, role)
    except AccountError as exc:
        fail(str(exc), 2)
    click.echo(f"Rôle de {name} : {ROLE_LABELS[role]}. Ses sessions sont fermées.")
