"""``livret user ...``: accounts.

Accounts are in the instance database; *assignments* (which learners a user
acts on) are written in the learners' profiles, through the store, so they
are versioned with the portfolios.  The checks and the writes are those of
the administration pages (:mod:`livret.admin.accounts`).
"""


import sys

import click

from ..admin.accounts import AccountAdmin
from ..instance.accounts import AccountError, Accounts, random_password
from ..seal import witnessed
from ..store import StoreError
from ..store.errors import InvalidInput
from ..store.project import Project
from ..store.schema import ROLE_LABELS
from . import main
from .common import fail, require_store, root_option

ROLES = list(ROLE_LABELS)


def _read_password(from_stdin: bool, username: str = "") -> tuple[str, bool]:
    """(password, generated)."""
    if not from_stdin:
        return random_password(username), True
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        fail("--password-stdin : aucun mot de passe lu sur l'entrée standard", 2)
    return text, False


def _refused(exc: InvalidInput) -> None:
    fail("\n".join(e.message for e in exc.errors), 2)


@main.group()
def user() -> None:
    """Comptes utilisateurs (base de données du dossier instance/)."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Rôle du compte.")
@click.option("--learner", "learners", multiple=True, metavar="ID",
              help="Apprenant·e suivi·e (répétable) ; pour un compte apprenant·e : son propre portfolio.")
@click.option("--name", "display_name", default="", metavar="TEXTE", help="Nom affiché (ex. « Marie Durand »).")
@click.option("--email", default="", metavar="ADRESSE", help="Adresse e-mail du compte.")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard "
              "(sinon un mot de passe aléatoire est affiché).")
@root_option
def user_add(project: Project, name: str, role: str, learners: tuple[str, ...], display_name: str, email: str,
             password_stdin: bool) -> None:
    """Crée le compte NAME ; les --learner sont enregistrés dans les profils des apprenant·es (un commit)."""
    require_store(project)
    admin = AccountAdmin.for_project(project)
    if role == "learner" and len(set(learners)) > 1:
        fail("un compte apprenant·e correspond à un seul portfolio (un seul --learner)", 2)
    if role not in ("learner", "tutor", "company") and learners:
        fail(f"--learner ne s'applique pas au rôle {role} (il lit déjà tous les portfolios)", 2)
    # Everything but the password is checked before it is read.
    try:
        admin.create(name, role, author="livret", display_name=display_name, email=email, learners=learners,
                     password=None, base_url=None, dry_run=True)
    except InvalidInput as exc:
        _refused(exc)
    password, generated = _read_password(password_stdin, name)
    if learners:
        witnessed(project)
    try:
        created = admin.create(name, role, author="livret", display_name=display_name, email=email,
                               learners=learners, password=password)
    except InvalidInput as exc:
        _refused(exc)
    except StoreError as exc:
        fail(f"affectations non enregistrées, compte non créé : {exc}")
    click.echo(f"Compte {name} créé ({ROLE_LABELS[role]}).")
    profiles = admin.profiles()
    for lid in created.assigned:
        click.echo(f"  affecté·e à {lid} ({profiles[lid].name if lid in profiles else lid})")
    if generated:
        click.echo(f"Mot de passe : {password}")


@user.command("list")
@root_option
def user_list(project: Project) -> None:
    """Liste les comptes, leur rôle, leur état et leurs affectations."""
    accounts = Accounts.for_project(project)
    if not accounts.list():
        click.echo("Aucun compte. Créez-en un : livret user add NOM --role admin")
        return
    rows = AccountAdmin(project.store, accounts).rows()
    width = max(len(r.user.username) for r in rows)
    for r in rows:
        learners = ", ".join(dict.fromkeys(a.learner_id for a in r.assignments)) or "—"
        second = "2FA" if r.user.totp_enabled else "—"
        click.echo(f"{r.user.username:<{width}}  {ROLE_LABELS[r.user.role]:<24}  {r.state:<10}  {learners}"
                   f"  [{second}]{'  ' + r.user.display_name if r.user.display_name else ''}")


def _set_disabled(project: Project, name: str, disabled: bool) -> None:
    admin = AccountAdmin.for_project(project)
    try:
        admin.set_disabled(name, disabled)
    except InvalidInput as exc:
        _refused(exc)
    click.echo(f"Compte {name} {'désactivé' if disabled else 'réactivé'}.")


@user.command("disable")
@click.argument("name")
@root_option
def user_disable(project: Project, name: str) -> None:
    """Désactive le compte NAME (ses sessions et ses liens à usage unique sont fermés ; l'historique reste)."""
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
    password, generated = _read_password(password_stdin, name)
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
    """Change le rôle de NAME (ses sessions sont fermées : il se reconnecte avec ses nouveaux droits).

    Refusé pour le dernier administrateur actif, et tant que le compte a des
    affectations que le nouveau rôle ne peut pas avoir.
    """
    admin = AccountAdmin.for_project(project)
    try:
        admin.change_role(name, role)
    except InvalidInput as exc:
        _refused(exc)
    click.echo(f"Rôle de {name} : {ROLE_LABELS[role]}. Ses sessions sont fermées.")


@user.command("reset")
@click.argument("name")
@root_option
def user_reset(project: Project, name: str) -> None:
    """Affiche un lien à usage unique pour que NAME choisisse un nouveau mot de passe (valable 24 h).

    Pour un compte qui n'a pas encore de mot de passe : une nouvelle
    invitation (7 jours).  Les liens précédents du compte ne fonctionnent
    plus.  Le lien est complet quand l'adresse publique de l'organisme
    (``public_url`` dans ``_organisation.yml``) est connue.
    """
    admin = AccountAdmin.for_project(project)
    base_url = project.store.settings().public_url if project.portfolios.is_dir() else None
    try:
        delivery = admin.reset_link(name, author="livret", base_url=base_url)
    except InvalidInput as exc:
        _refused(exc)
    hours = int(delivery.expires_in.total_seconds() // 3600)
    what = "Invitation" if delivery.purpose == "invitation" else "Lien de réinitialisation"
    validity = f"{hours // 24} jours" if hours >= 48 else f"{hours} h"
    if delivery.mailed:
        click.echo(f"{what} pour {name}, valable {validity}, à usage unique : "
                   f"{'envoyée' if delivery.purpose == 'invitation' else 'envoyé'} par courriel à "
                   f"{delivery.mailed_to}.")
        click.echo("Le courriel est dans la file d'envoi : le serveur livret l'envoie, ou « livret mail "
                   "send-queued » ; son état : « livret mail list ».")
        return
    click.echo(f"{what} pour {name}, valable {validity}, à usage unique ; à transmettre à son titulaire.")
    if not delivery.absolute:
        click.echo("L'adresse publique de l'organisme (public_url dans _organisation.yml) n'est pas renseignée : "
                   "ajoutez devant ce chemin l'adresse du serveur livret.")
    click.echo(delivery.url)


@user.command("reset-2fa")
@click.argument("name")
@root_option
def user_reset_2fa(project: Project, name: str) -> None:
    """Désactive le second facteur de NAME (téléphone perdu) : ses sessions sont fermées ; il le réactivera."""
    admin = AccountAdmin.for_project(project)
    try:
        admin.reset_second_factor(name)
    except InvalidInput as exc:
        _refused(exc)
    click.echo(f"Second facteur de {name} désactivé ; ses codes de secours ne fonctionnent plus.")
