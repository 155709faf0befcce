"""Interoperability commands: framework import/export, progression CSV, Open Badges.

``livret framework import FILE --format moodle|mahara [--id ID] [--force]``
writes ``portfolios/_frameworks/<id>.yml`` (committed when the store has
git); ``livret framework export ID --format moodle -o FILE``;
``livret export-progress -o FILE.csv [--learner ID]...``;
``livret badges LEARNER -o DIR [--base-url URL]``;
``livret token create USER [--label L]`` (the token on the last line), ``token list``, ``token revoke ID``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import click

from ..instance.accounts import Accounts
from ..instance.tokens import TokenError, Tokens
from ..interop.badges import credentials
from ..interop.framework_import import READERS, commit_message, read_framework_file
from ..interop.framework_import import import_framework as shared_import
from ..interop.frameworks import ImportFailed, ImportResult
from ..interop.moodle import write_moodle_csv
from ..interop.progress_csv import progress_csv
from ..seal import witnessed
from ..store import StoreError, UnknownLearner, atomic, french
from ..store.project import Project
from ..store.schema import USERNAME_RE
from . import main
from .common import fail, require_store, root_option


def cli_author() -> str:
    """Who the history records for a command-line write: ``$USER`` when it is a valid username."""
    user = (os.environ.get("USER") or "").lower()
    return user if USERNAME_RE.match(user) else "admin"


def _write_output(output: str, data: bytes) -> None:
    if output == "-":
        click.get_binary_stream("stdout").write(data)
        return
    try:
        atomic.replace(Path(output), data)
    except OSError as exc:
        fail(f"écriture impossible de {output} : {exc.strerror}")


@main.group()
def framework() -> None:
    """Référentiels de compétences : import (Moodle, Mahara) et export (Moodle)."""


@framework.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(READERS)), required=True,
              help="moodle : CSV de l'outil d'import des référentiels ; mahara : fichier SmartEvidence .matrix")
@click.option("--id", "fid", default=None, help="Identifiant du référentiel (par défaut : tiré de son nom).")
@click.option("--force", is_flag=True, help="Remplacer un référentiel existant du même identifiant "
              "(refusé si des entrées d'apprenant·es deviendraient invalides).")
@root_option
def import_framework(project: Project, file: Path, fmt: str, fid: str | None, force: bool) -> None:
    """Importe un référentiel exporté de Moodle ou Mahara dans portfolios/_frameworks/.

    Le même chemin que la page d'import de l'administration (livret.interop.framework_import).
    """
    require_store(project)
    try:
        result: ImportResult = read_framework_file(file.read_bytes(), fmt, name=file.name, framework_id=fid)
    except ImportFailed as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        fail(f"{file.name} n'a pas été importé ({french.count(len(exc.problems), 'problème', 'problèmes')}) ; "
             "rien n'a été écrit")
    for warning in result.warnings:
        click.echo(f"attention : {warning}", err=True)
    for original, code in result.renamed.items():
        click.echo(f"code adapté : « {original} » → {code}", err=True)
    fw = result.framework
    witnessed(project)
    try:
        path = shared_import(project.store, result, author=cli_author(), replace=force,
                             message=commit_message(fw, fmt, file.name))
    except ImportFailed as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        fail(f"{file.name} n'a pas été importé ; rien n'a été écrit")
    except StoreError as exc:
        fail(str(exc))
    count = len(fw.competencies())
    click.echo(f"Référentiel {fw.id} importé : {french.count(len(fw.blocks), 'bloc', 'blocs')}, "
               f"{french.count(count, 'compétence', 'compétences')}, "
               f"échelle de {len(fw.scale.values)} niveaux.")
    click.echo(path.relative_to(project.root).as_posix())


@framework.command("export")
@click.argument("framework_id")
@click.option("--format", "fmt", type=click.Choice(["moodle"]), default="moodle", show_default=True)
@click.option("-o", "--output", required=True, help="Fichier CSV à écrire (« - » : sortie standard).")
@root_option
def export_framework(project: Project, framework_id: str, fmt: str, output: str) -> None:
    """Exporte un référentiel au format CSV d'import de Moodle."""
    require_store(project)
    fw, problems = project.store.framework(framework_id)
    if fw is None:
        for problem in problems:
            click.echo(str(problem), err=True)
        fail(f"référentiel introuvable ou invalide : {framework_id}")
    try:
        text, warnings = write_moodle_csv(fw)
    except ImportFailed as exc:
        fail("; ".join(exc.problems))
    for warning in warnings:
        click.echo(f"attention : {warning}", err=True)
    _write_output(output, text.encode("utf-8"))
    if output != "-":
        click.echo(f"Référentiel {fw.id} exporté pour Moodle : {output}")


@main.command("export-progress")
@click.option("-o", "--output", required=True, help="Fichier CSV à écrire (« - » : sortie standard).")
@click.option("--learner", "learners", multiple=True, help="Seulement cet·te apprenant·e (répétable).")
@root_option
def export_progress(project: Project, output: str, learners: tuple[str, ...]) -> None:
    """Progression de la cohorte en CSV (une ligne par apprenant·e et compétence, vue partagée)."""
    require_store(project)
    store = project.store
    ids = list(learners) or store.learner_ids()
    records = []
    for lid in ids:
        try:
            record = store.load_learner(lid)
        except UnknownLearner as exc:
            fail(str(exc))
        if record.profile is None or record.framework is None:
            click.echo(f"attention : {lid} ignoré·e (profil ou référentiel invalide : voir livret check)",
                       err=True)
            continue
        records.append(record)
    _write_output(output, progress_csv(records))
    if output != "-":
        click.echo(f"Progression de {french.count(len(records), 'apprenant·e', 'apprenant·es')} : {output}")


@main.command()
@click.argument("learner")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Dossier où écrire les badges : un JSON lisible et, signé, un .jwt par badge.")
@click.option("--base-url", default=None,
              help="Adresse publique où « livret serve » répond (https://...) : identifiant de l'émetteur "
                   "(did:web), et alignement de chaque badge sur la page de la compétence dans le portfolio. "
                   "Par défaut : le réglage public_url de _organisation.yml.")
@root_option
def badges(project: Project, learner: str, out_dir: Path, base_url: str | None) -> None:
    """Open Badges 3.0 des compétences acquises d'un·e apprenant·e, signés par l'organisme (JWT, EdDSA)
    quand son adresse publique est en https."""
    from ..seal.credentials import did_web, sign_credential
    from ..seal.keys import Keys, SigningKeyError

    require_store(project)
    base_url = base_url or project.store.settings().public_url
    if base_url is not None and not re.fullmatch(r"https?://[^\s\"'<>]+", base_url):
        fail("--base-url : adresse en http:// ou https:// attendue, ex. https://formation.example.org")
    try:
        record = project.store.load_learner(learner)
    except UnknownLearner as exc:
        fail(str(exc))
    if record.profile is None or record.framework is None:
        fail(f"{learner} : profil ou référentiel invalide (voir livret check)")
    documents = credentials(record, project.store.settings(), base_url=base_url,
                            people=project.store.people_names())
    if not documents:
        click.echo(f"{learner} : aucune compétence acquise (vue partagée) : aucun badge produit.")
        return
    signed = base_url is not None and base_url.startswith("https://")
    keys = Keys.for_project(project)
    for name, document in documents:
        outputs = [(name, (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))]
        if signed:
            try:
                keys.init()
                token = sign_credential(document, keys, base_url)
            except (SigningKeyError, OSError) as exc:
                fail(f"signature impossible : {exc}")
            outputs.append((name.rsplit(".", 1)[0] + ".jwt", token.encode("ascii")))
        for file_name, data in outputs:
            try:
                atomic.replace(out_dir / file_name, data)
            except OSError as exc:
                fail(f"écriture impossible dans {out_dir} : {exc.strerror}")
    if signed:
        click.echo(f"{french.count(len(documents), 'badge Open Badges 3.0 signé', 'badges Open Badges 3.0 signés')} "
                   f"pour {learner} dans {out_dir} "
                   f"(émetteur {did_web(base_url)}, clés : {base_url.rstrip('/')}/.well-known/did.json)")
    else:
        click.echo(f"{french.count(len(documents), 'badge Open Badges 3.0', 'badges Open Badges 3.0')} pour {learner} "
                   f"dans {out_dir}, non signés : "
                   "la signature demande l'adresse publique https de l'organisme (--base-url ou public_url)")


@main.group()
def token() -> None:
    """Jetons personnels d'accès à l'API JSON (/api/v1)."""


@token.command("create")
@click.argument("username")
@click.option("--label", default="", help="À quoi sert ce jeton (ex. « export LMS »).")
@root_option
def token_create(project: Project, username: str, label: str) -> None:
    """Crée un jeton pour un compte ; le jeton est affiché une seule fois, en dernière ligne."""
    user = Accounts.for_project(project).get(username)
    if user is None:
        fail(f"compte inconnu : {username} (livret user add)")
    if user.disabled:
        fail(f"le compte {username} est désactivé")
    try:
        info, secret = Tokens.for_project(project).create(username, label)
    except TokenError as exc:
        fail(str(exc))
    click.echo(f"Jeton n° {info.id} créé pour {username} ({user.role_label}).")
    click.echo("Copiez-le maintenant : il ne sera plus affiché. Usage : Authorization: Bearer <jeton>")
    click.echo(secret)


@token.command("list")
@click.option("--user", "username", default=None, help="Seulement les jetons de ce compte.")
@root_option
def token_list(project: Project, username: str | None) -> None:
    """Liste les jetons (jamais leur valeur : seulement leur début)."""
    tokens = Tokens.for_project(project).list(username)
    if not tokens:
        click.echo("Aucun jeton.")
        return
    for t in tokens:
        state = "actif" if t.active else f"révoqué le {t.revoked[:10]}"
        used = f"utilisé le {t.last_used[:10]}" if t.last_used else "jamais utilisé"
        label = f" « {t.label} »" if t.label else ""
        click.echo(f"{t.id}\t{t.username}\t{t.shown}{label}\tcréé le {t.created[:10]}\t{used}\t{state}")


@token.command("revoke")
@click.argument("token_id", type=int)
@root_option
def token_revoke(project: Project, token_id: int) -> None:
    """Révoque un jeton (il n'authentifie plus personne, immédiatement)."""
    try:
        info = Tokens.for_project(project).revoke(token_id)
    except TokenError as exc:
        fail(str(exc))
    click.echo(f"Jeton n° {info.id} de {info.username} révoqué.")
