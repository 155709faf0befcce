"""Sharing and audit commands: ``verify``, ``export``, ``verify-pack``, ``share``, ``report``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..store.french import count, size
from ..store.project import Project
from . import main
from .common import fail, require_store, root_option


def _conclude(findings: list, failed: str, clean: str) -> None:
    """One line per finding on standard output, a summary on standard error; exit 1 if any."""
    for finding in findings:
        click.echo(str(finding))
    if findings:
        click.echo(failed, err=True)
        raise SystemExit(1)
    click.echo(clean, err=True)


@main.command()
@click.option("--remote", is_flag=True, help="Comparer aussi le journal au dépôt témoin configuré.")
@click.option("--accept", "accept_commit", metavar="COMMIT", default=None,
              help="Accepter un commit fait hors de livret (après examen), avec --reason.")
@click.option("--reason", default=None, help="Pourquoi le commit est accepté (une phrase, gardée au journal).")
@click.option("--by", "accepted_by", default="admin", show_default=True, help="Qui accepte (compte).")
@root_option
def verify(project: Project, remote: bool, accept_commit: str | None, reason: str | None, accepted_by: str) -> None:
    """Vérifie l'intégrité du dépôt : fichiers illisibles, entrées non enregistrées ou modifiées
    après coup (avec le commit qui les a ajoutées), « git fsck », puis l'historique contre le
    journal témoin (historique réécrit, remis en arrière, .git supprimé, commit fait hors de
    livret). Une séance modifiée après un émargement est signalée par une note, sans échec.
    Code 0 si tout est intact, 1 sinon."""
    from ..audit.integrity import attendance_notices
    from ..audit.integrity import verify as run_verify
    from ..seal.check import accept
    from ..seal.journal import Journal

    require_store(project)
    journal = Journal.for_project(project)
    if accept_commit is not None:
        if not reason:
            fail("--accept demande --reason : expliquez pourquoi ce commit est accepté", 2)
        try:
            record = accept(journal, accept_commit, reason, author=accepted_by)
        except ValueError as exc:
            fail(str(exc), 2)
        click.echo(f"Commit {record.commit_id[:12]} accepté (journal n° {record.seq}).", err=True)
    elif reason is not None:
        fail("--reason va avec --accept COMMIT", 2)
    findings = run_verify(project, remote=remote)
    for notice in attendance_notices(project):  # information, not a failure
        click.echo(f"{notice.path}: note : {notice.message}")
    git = "historique git vérifié" if project.store.history.enabled else "pas d'historique git"
    records = journal.records()
    since = f", journal témoin depuis le {records[0].recorded[:10]} ({len(records)} enregistrements)" \
        if records else ""
    _conclude(findings, f"{count(len(findings), 'constat', 'constats')} d'intégrité.",
              f"Dépôt intact : {count(len(project.store.learner_ids()), 'portfolio', 'portfolios')}, {git}{since}.")


def _today(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--today : date attendue au format AAAA-MM-JJ (lu : {value!r})", 2)
        raise  # unreachable: fail() exits


@main.group()
def report() -> None:
    """Rapports de suivi (Qualiopi)."""


@report.command("qualiopi")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fichier CSV à écrire (UTF-8 avec BOM, séparateur « ; », pour Excel). "
                   "Par défaut : le CSV s'affiche.")
@click.option("--learner", "learners", multiple=True, help="Limiter à ces apprenant·es (répétable).")
@click.option("--today", default=None, help="Date du rapport (AAAA-MM-JJ). Par défaut : aujourd'hui.")
@root_option
def report_qualiopi(project: Project, output: Path | None, learners: tuple[str, ...], today: str | None) -> None:
    """Indicateurs Qualiopi 8, 10, 11, 12 et 13 : une ligne par apprenant·e et par indicateur."""
    from ..store import atomic
    from ..views.qualiopi import store_reports, summary, to_csv

    require_store(project)
    known = project.store.learner_ids()
    unknown = [lid for lid in learners if lid not in known]
    if unknown:
        fail(f"--learner : apprenant·e inconnu·e : {', '.join(unknown)}", 2)
    reports = store_reports(project.store, _today(today), list(learners) or None)
    if output is None:
        click.echo(to_csv(reports, bom=False), nl=False)
        return
    atomic.replace(output.resolve(), to_csv(reports).encode("utf-8"))
    click.echo(f"Rapport Qualiopi : {summary(reports)} (statut le moins favorable de leurs indicateurs).")
    click.echo(f"Écrit dans {output}.")


# --------------------------------------------------------------------------
# Share links
# --------------------------------------------------------------------------

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _local(project: Project, moment: dt.datetime | None) -> str:
    """A date-time in the organisation's timezone, in French."""
    from zoneinfo import ZoneInfo

    from ..views.progress import fr_datetime

    if moment is None:
        return "—"
    return fr_datetime(moment.astimezone(ZoneInfo(project.store.settings().timezone)))


@main.group()
def share() -> None:
    """Liens de partage en lecture seule (« /s/<jeton>/ ») vers le site partagé d'un·e apprenant·e."""


@share.command("create")
@click.argument("learner")
@click.option("--expires", "days", type=int, default=None,
              help="Validité en jours (par défaut : share.default_days de l'organisation, au plus share.max_days).")
@click.option("--label", default=None, help="Pour qui est le lien, ex. « Entreprise Dupont ».")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True,
              help="Adresse publique de l'application, pour écrire le lien complet.")
@click.option("--by", "created_by", default="admin", show_default=True, help="Qui crée le lien (journal).")
@root_option
def share_create(project: Project, learner: str, days: int | None, label: str | None, base_url: str,
                 created_by: str) -> None:
    """Crée un lien ; la dernière ligne affichée est le lien complet (affiché une seule fois)."""
    from ..instance.shares import ShareError, ShareLinks

    require_store(project)
    try:
        created = ShareLinks.for_project(project).create(learner, created_by=created_by, label=label, days=days)
    except ShareError as exc:
        option = {"durée": "--expires", "libellé": "--label"}.get(exc.field, exc.field)
        fail(f"{option} : {exc.message}", 2)
        return
    link = created.link
    click.echo(f"Lien n° {link.id} créé pour {link.learner} (« {link.label} »), "
               f"valable jusqu'au {_local(project, link.expires)}.")
    click.echo("Le lien n'est affiché qu'une fois (seule son empreinte est conservée) : copiez-le maintenant.")
    click.echo(created.url(base_url))


@share.command("list")
@click.argument("learner", required=False)
@root_option
def share_list(project: Project, learner: str | None) -> None:
    """Liste les liens (d'un·e apprenant·e, ou tous), du plus récent au plus ancien."""
    from ..instance.shares import ShareLinks

    require_store(project)
    if learner is not None and learner not in project.store.learner_ids():
        fail(f"apprenant·e inconnu·e : {learner!r}", 2)
    links = ShareLinks.for_project(project).list(learner)
    if not links:
        click.echo("Aucun lien de partage.", err=True)
        return
    for link in links:
        state = link.state_label()
        if link.revoked:
            state += f" le {_local(project, link.revoked)} par {link.revoked_by}"
        else:
            state += f", expire le {_local(project, link.expires)}"
        click.echo(f"n° {link.id}\t{link.learner}\t« {link.label} »\tcréé le {_local(project, link.created)} "
                   f"par {link.created_by}\t{state}\t{count(link.visits, 'visite', 'visites')}")


@share.command("revoke")
@click.argument("token_or_url")
@click.option("--by", "revoked_by", default="admin", show_default=True, help="Qui révoque le lien (journal).")
@root_option
def share_revoke(project: Project, token_or_url: str, revoked_by: str) -> None:
    """Révoque un lien, désigné par son jeton, son adresse complète ou son numéro (« share list »)."""
    from ..instance.shares import ShareError, ShareLinks, token_from

    require_store(project)
    links = ShareLinks.for_project(project)
    if token_or_url.isdigit():
        link = links.get(int(token_or_url))
    else:
        token = token_from(token_or_url)
        if token is None:
            fail("jeton ou lien invalide : attendu un lien « …/s/<jeton>/ », un jeton ou un numéro de lien", 2)
            return
        link = links.find(token)
    if link is None:
        fail("lien inconnu")
        return
    if link.revoked:
        click.echo(f"Lien n° {link.id} (« {link.label} », {link.learner}) déjà révoqué le "
                   f"{_local(project, link.revoked)}.")
        return
    try:
        link = links.revoke(link.id, by=revoked_by)
    except ShareError as exc:
        fail(str(exc))
    click.echo(f"Lien n° {link.id} (« {link.label} », {link.learner}) révoqué : il répond désormais « 410 ».")


# --------------------------------------------------------------------------
# Audit pack
# --------------------------------------------------------------------------


@main.command("export")
@click.argument("learner")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Fichier .zip à écrire.")
@click.option("--audience", type=click.Choice(["shared", "staff"]), default="shared", show_default=True,
              help="shared : sans les entrées réservées à l'équipe ; staff : tout le dossier.")
@root_option
def export(project: Project, learner: str, output: Path, audience: str) -> None:
    """Dossier d'audit d'un·e apprenant·e : site consultable hors ligne, pièces jointes,
    livret de suivi en PDF et manifeste SHA-256."""
    from ..audit.pack import PackError, build_pack

    require_store(project)
    try:
        summary = build_pack(project, learner, output, audience=audience)
    except PackError as exc:
        fail(str(exc))
        return
    click.echo(f"Dossier d'audit de {learner} ({'complet' if audience == 'staff' else 'partagé'}) : "
               f"{count(summary.entries, 'entrée', 'entrées')}, "
               f"{count(summary.attachments, 'pièce jointe', 'pièces jointes')}, "
               f"{count(summary.files, 'fichier', 'fichiers')}, {size(summary.size)}.")
    click.echo(f"Écrit dans {output}.")


@main.command("verify-pack")
@click.argument("pack", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_source", metavar="FICHIER_OU_URL", default=None,
              help="Clés publiques de l'organisme (liste JSON publiée, ou clé PEM), obtenues hors du dossier.")
@click.option("--root", "root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Dépôt de l'organisme : vérifier aussi l'état scellé du dossier contre son journal témoin.")
def verify_pack_cmd(pack: Path, key_source: str | None, root: Path | None) -> None:
    """Vérifie un dossier d'audit : fichiers modifiés, manquants ou ajoutés, et signature de l'organisme.

    Code 0 : intact et signé par une clé de l'organisme (--key) ; 1 : altéré, non signé ou
    signé par une autre clé ; 3 : intact et signature valide, mais clé non confirmée (sans --key).
    """
    from ..audit.pack import pack_against_journal, pack_documents, pack_signature, verify_pack
    from ..seal.journal import Journal

    keys = _public_keys(key_source) if key_source else None
    findings = verify_pack(pack)
    if not findings:
        for name, label in pack_documents(pack):
            click.echo(f"{name}: intact ({label})")
    if root is not None:
        project = Project.at(root)
        require_store(project)
        findings += pack_against_journal(pack, Journal.for_project(project))
    signature = pack_signature(pack, keys)
    if signature.state not in ("confirmed", "unconfirmed"):
        findings.append(f"{pack.name}: {signature.message}")
    _conclude(findings, f"{count(len(findings), 'anomalie', 'anomalies')} : "
                        "le dossier a été modifié depuis sa création "
                        "ou n'est pas signé par l'organisme.",
              f"Dossier intact : chaque fichier correspond au manifeste ; {signature.message}.")
    if signature.state == "unconfirmed":
        raise SystemExit(UNCONFIRMED)


#: Exit code of ``verify-pack`` for an intact pack whose signer was not confirmed (no --key).
UNCONFIRMED = 3


def _public_keys(source: str):
    """The organisation's public keys from a file or an http:// or https:// address."""
    import urllib.error
    import urllib.request

    from ..seal.keys import read_public_keys

    try:
        if source.startswith(("https://", "http://")):
            with urllib.request.urlopen(source, timeout=30) as answer:  # noqa: S310 - given by the auditor
                text = answer.read(1024 * 1024).decode("utf-8")
        else:
            text = Path(source).read_text(encoding="utf-8")
    except (OSError, urllib.error.URLError, UnicodeDecodeError) as exc:
        fail(f"--key : clés illisibles ({source} : {exc})", 2)
        raise
    try:
        return read_public_keys(text)
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"--key : {exc}", 2)
        raise
