"""Signing a session, countersigning its sheet, marking what is missing: the only writers of these records.

- :func:`sign_session`: the learner's own signature of one half-day (a
  ``signature`` entry with ``session``), sealing the session file in force
  and the drawing's SVG; on their own device (``password``, or ``qr-code``
  when they came through the trainer's QR code), or on the trainer's device
  (``trainer-device``, after their password or personal code).  The QR code
  and the trainer's-device identification are checked by the caller first.
- :func:`countersign`: the trainer's signature of the sheet, one
  ``signature`` per expected learner (sealing the session file, that
  learner's signature and latest mark), in one commit.
- :func:`mark`: an ``attendance-mark`` (absent, justified, late, left
  early) and, when a reason, a proof or a note is given, a ``staff``
  feedback entry about it carrying the proof.

Every refusal is :class:`AttendanceRefused` (French reason) and writes
nothing.  Signing is serialised per learner (two presses never write two
signatures), the sheet per session.  Log lines name ids, never a note.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from zoneinfo import ZoneInfo

from ulid import ULID

from ..store import StoredEntry, UnknownLearner, french
from ..store.errors import FieldError, InvalidInput
from ..store.french_dates import fr_date
from ..store.schema import (
    ENTRY_ID_RE,
    HALF_DAYS,
    MARK_STATUSES,
    MAX_BODY,
    SIGNED_AS,
    TrainingSession,
)
from ..store.sessions import MAX_MOVE_DAYS
from ..store.signatures import file_sha256
from ..store.writer import NewEntry
from ..views import attendance as va
from . import drawing

log = logging.getLogger("livret.attendance")

#: How a learner was identified when signing a session.
SESSION_METHODS = ("password", "qr-code", "trainer-device")
MAX_REASON = 1000
MAX_NOTE = 4000


class AttendanceRefused(Exception):
    """A signature or mark that is not written; ``str()`` is the French reason.

    ``unknown`` is True when, for the person asking, the session does not
    exist (unknown, or they are not expected at it): routes answer 404.
    """

    def __init__(self, message: str, *, unknown: bool = False):
        super().__init__(message)
        self.unknown = unknown


def _unknown() -> AttendanceRefused:
    return AttendanceRefused("aucune séance de ce numéro ne vous concerne", unknown=True)


def find_chain(store, chain_id: str) -> va.Chain | None:
    """The session chain whose first file is ``chain_id`` (None: unknown, or not a first session)."""
    if not isinstance(chain_id, str) or not ENTRY_ID_RE.match(chain_id):
        return None
    first = store.session(chain_id)
    if first is None or first.session.updates is not None:
        return None
    margin = dt.timedelta(days=MAX_MOVE_DAYS)  # every change of the chain lies within this range
    day = first.session.date
    versions = [s for s in store.sessions(day - margin, day + margin) if s.session.chain == chain_id]
    return va.chains(versions).get(chain_id)


def _now(store, now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(ZoneInfo(store.settings().timezone)).replace(microsecond=0)


def _clock(moment: dt.datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def describe(session: TrainingSession) -> str:
    """« Titre (02/12/2026, matin) »: how titles and messages name a session."""
    return f"{session.title} ({session.date:%d/%m/%Y}, {HALF_DAYS[session.half_day].lower()})"


def is_trainer(chain: va.Chain, username: str, role: str) -> bool:
    """The session's trainer (a tutor or admin account named in it) or an admin."""
    return role == "admin" or (role == "tutor" and chain.session.trainer == username)


def learner_signature(entries, chain_id: str) -> StoredEntry | None:
    """The learner's own signature of a session, if any."""
    for e in entries:
        if e.type == "signature" and e.meta.session == chain_id and e.meta.role == "learner":
            return e
    return None


def _expected(store, chain: va.Chain, learner_id: str):
    """The learner's record when they are expected at the session; else the refusal of an unknown session."""
    try:
        record = store.load_learner(learner_id)
    except UnknownLearner:
        raise _unknown() from None
    if record.profile is None:
        raise _unknown()
    if not va.expected_chains(record.profile, store.groups_of(learner_id), record.entries, {chain.id: chain}):
        raise _unknown()
    return record


def _window_refusal(opens: dt.datetime, closes: dt.datetime, now: dt.datetime, tz: str) -> str | None:
    if now < opens:
        return f"l'émargement ouvre le {fr_date(opens.date())} à {_clock(opens, tz)}"
    if now >= closes:
        return f"l'émargement est clos depuis {_clock(closes, tz)} le {fr_date(closes.date())}"
    return None


def _signature_fields(chain: va.Chain, title: str, now: dt.datetime, *, name: str, method: str, signed_as: str,
                      signed: list[dict]) -> dict:
    """A session signature's fields (the learner's or the trainer's): shared, naming the chain and its trainer."""
    fields = {"type": "signature", "date": now.isoformat(), "title": title[:200], "visibility": "shared",
              "session": chain.id, "signer_name": name, "method": method, "signed_as": signed_as,
              "signed": signed, "trainer": chain.session.trainer}
    if chain.session.trainer_name:
        fields["trainer_name"] = chain.session.trainer_name
    return fields


# --------------------------------------------------------------------------
# The learner signs
# --------------------------------------------------------------------------


def sign_session(store, chain_id: str, learner_id: str, *, username: str, name: str, role: str, method: str,
                 signed_as: str, strokes=None, connection: dict | None = None,
                 now: dt.datetime | None = None) -> StoredEntry:
    """Write ``learner_id``'s signature of the session ``chain_id``; the stored signature.

    ``username`` is the learner's account (only they sign for themselves),
    ``method`` one of :data:`SESSION_METHODS`, ``signed_as`` ``drawing``
    (``strokes`` as posted, :mod:`.drawing`) or ``typed-name``;
    ``connection`` (``{"ip", "user_agent"}``) is kept for a distance session.
    Raises :class:`AttendanceRefused` or :class:`InvalidInput` (nothing
    written) or :class:`~livret.store.StoreError`.
    """
    if method not in SESSION_METHODS:
        raise InvalidInput([FieldError(("method",), f"méthode d'identification inconnue : {method!r}")])
    if signed_as not in SIGNED_AS:
        raise InvalidInput([FieldError(("signed_as",), "choisissez : dessiner ou saisir votre nom")])
    if role != "learner":
        raise AttendanceRefused("seul·e l'apprenant·e émarge pour lui-même ou elle-même")
    if signed_as == "typed-name" and not (name or "").strip():
        raise InvalidInput([FieldError(("name",), "nom : saisissez votre nom")])
    svg = drawing.drawing_svg(strokes) if signed_as == "drawing" else None
    with store.history.serialised(f"attendance.{learner_id}"):
        return _sign(store, chain_id, learner_id, username=username, name=name.strip(), method=method,
                     signed_as=signed_as, svg=svg, connection=connection, now=now)


def _sign(store, chain_id: str, learner_id: str, *, username: str, name: str, method: str, signed_as: str,
          svg: bytes | None, connection: dict | None, now: dt.datetime | None) -> StoredEntry:
    chain = find_chain(store, chain_id)
    if chain is None:
        raise _unknown()
    record = _expected(store, chain, learner_id)
    if record.profile.account != username:
        raise _unknown()
    if chain.cancelled:
        raise AttendanceRefused("cette séance est annulée : il n'y a rien à émarger")
    settings = store.settings()
    tz = settings.timezone
    now = _now(store, now)
    session = chain.session
    window = (va.trainer_device_window if method == "trainer-device" else va.signing_window)(
        session, settings.attendance, tz)
    refusal = _window_refusal(*window, now, tz)
    if refusal:
        raise AttendanceRefused(refusal)
    done = learner_signature(record.entries, chain.id)
    if done is not None:
        when = done.meta.date.astimezone(ZoneInfo(tz))
        raise AttendanceRefused(f"déjà émargé le {fr_date(when.date())} à {when:%H:%M}")
    digest = file_sha256(store.root, chain.latest.path)
    if digest is None:
        raise AttendanceRefused("le fichier de la séance est illisible : prévenez l'équipe, rien n'a été enregistré")
    signed = [{"path": chain.latest.path, "sha256": digest}]
    generated = []
    if svg is not None:
        rel = f"files/{str(ULID())[-8:].lower()}-signature.svg"
        signed.append({"path": f"{learner_id}/{rel}", "sha256": hashlib.sha256(svg).hexdigest()})
        generated.append((rel, svg))
    fields = _signature_fields(chain, f"Émargement : {describe(session)}", now, name=name, method=method,
                               signed_as=signed_as, signed=signed)
    if session.modality == "distance-synchrone" and connection and connection.get("ip"):
        fields["connection"] = {"ip": str(connection["ip"])[:64],
                                **({"user_agent": str(connection["user_agent"])[:300]}
                                   if connection.get("user_agent") else {})}
    message = f"{learner_id} : émargement de la séance {chain.id} ({username}, {method})"
    stored = store.append_entry(learner_id, fields, "", author=username, role="learner", now=now, author_name=name,
                                internal=True, message=message, generated=generated)
    log.info("émargement : apprenant·e %s, séance %s, méthode %s, %s", learner_id, chain.id, method, signed_as)
    return stored


# --------------------------------------------------------------------------
# The trainer countersigns the sheet
# --------------------------------------------------------------------------


def _line_seal(chain: va.Chain, row: va.SessionRow, root) -> list[dict]:
    paths = [chain.latest.path] + [e.path for e in (row.signature, row.mark) if e is not None]
    out = []
    for rel in paths:
        digest = file_sha256(root, rel)
        if digest is None:
            raise AttendanceRefused(f"fichier illisible ({rel}) : rien n'a été enregistré")
        out.append({"path": rel, "sha256": digest})
    return out


def countersign(store, chain_id: str, *, username: str, name: str, role: str,
                now: dt.datetime | None = None) -> list[StoredEntry]:
    """The trainer's signature of the session's sheet: one per expected learner whose line has no
    countersignature yet, or changed since the last one (a new signature, a new mark, a changed
    session); all in one commit.  Only the session's trainer or an admin, once the session started."""
    chain = find_chain(store, chain_id)
    if chain is None:
        raise _unknown()
    if not is_trainer(chain, username, role):
        raise AttendanceRefused("seul·e le formateur ou la formatrice de la séance, ou un·e administrateur·rice, "
                                "signe la feuille d'émargement")
    if chain.cancelled:
        raise AttendanceRefused("cette séance est annulée : il n'y a pas de feuille à signer")
    settings = store.settings()
    now = _now(store, now)
    start, _ = va.session_datetimes(chain.session, settings.timezone)
    if now < start:
        raise AttendanceRefused("la feuille se signe une fois la séance commencée "
                                f"({_clock(start, settings.timezone)})")
    with store.history.serialised(f"attendance-sheet.{chain.id}"):
        sheet = va.session_sheet(store, chain.id, now)
        if sheet is None:
            raise _unknown()
        if not sheet.rows:
            raise AttendanceRefused("personne n'est attendu à cette séance : il n'y a pas de feuille à signer")
        items = []
        for learner_id, row in sheet.rows:
            seal = _line_seal(chain, row, store.root)
            previous = row.countersignature
            if previous is not None and [s.model_dump() for s in previous.meta.signed] == seal:
                continue  # already countersigned, nothing changed since
            items.append(NewEntry(learner_id, _signature_fields(
                chain, f"Feuille d'émargement signée : {describe(chain.session)}", now, name=name, method="password",
                signed_as="typed-name", signed=seal)))
        if not items:
            raise AttendanceRefused("feuille déjà signée : rien n'a changé depuis votre signature")
        stored = store.append_entries(items, author=username, role=role, now=now, author_name=name, internal=True,
                                      message=f"séance {chain.id} : feuille d'émargement signée ({username}, "
                                              f"{french.count(len(items), 'ligne', 'lignes')})")
    log.info("feuille signée : séance %s, %s, par %s", chain.id,
             french.count(len(stored), "ligne", "lignes"), username)
    return stored


# --------------------------------------------------------------------------
# The trainer marks what is missing
# --------------------------------------------------------------------------


def _mark_fields(chain: va.Chain, status: str, minutes, reason, note: str, proof) -> tuple[int | None, str, str]:
    errors = []
    if status not in MARK_STATUSES:
        raise InvalidInput([FieldError(("status",), "relevé : choisissez absent·e, absence justifiée, retard ou "
                                                    "départ anticipé")])
    timed = status in ("late", "left-early")
    if timed:
        try:
            minutes = int(str(minutes).strip()) if minutes not in (None, "") else None
        except ValueError:
            minutes = -1
        if minutes is None:
            errors.append(FieldError(("minutes",), "minutes : indiquez le nombre de minutes manquées"))
        elif not 1 <= minutes < chain.session.minutes:
            errors.append(FieldError(("minutes",), f"minutes : entre 1 et {chain.session.minutes - 1} "
                                                   "(la séance dure moins)"))
    else:
        minutes = None
    reason = (reason or "").strip()
    note = (note or "").strip()
    if status == "justified" and not reason:
        errors.append(FieldError(("reason",), "motif : indiquez le motif de l'absence justifiée"))
    if len(reason) > MAX_REASON:
        errors.append(FieldError(("reason",), f"motif : au plus {MAX_REASON} caractères"))
    if len(note) > MAX_NOTE:
        errors.append(FieldError(("note",), f"note : au plus {MAX_NOTE} caractères"))
    if proof is not None and status != "justified":
        errors.append(FieldError(("proof",), "justificatif : il accompagne une absence justifiée"))
    if errors:
        raise InvalidInput(errors)
    return minutes, reason, note


def mark(store, chain_id: str, learner_id: str, *, status: str, minutes=None, reason: str | None = None,
         note: str = "", proof: tuple[str, bytes] | None = None, username: str, name: str, role: str,
         now: dt.datetime | None = None) -> StoredEntry:
    """Mark ``learner_id`` at the session: ``status`` in MARK_STATUSES, ``minutes`` for late / left-early,
    a ``reason`` (required for a justified absence), a ``proof`` ``(filename, bytes)`` for it, a staff
    ``note``.  Writes the mark, then (reason, proof or note) a staff feedback about it.  Returns the mark.
    Allowed after the session (a justification arriving later); a late, left-early or absent mark only
    once the session started."""
    chain = find_chain(store, chain_id)
    if chain is None:
        raise _unknown()
    if not is_trainer(chain, username, role):
        raise AttendanceRefused("seul·e le formateur ou la formatrice de la séance, ou un·e administrateur·rice, "
                                "relève les absences et les retards")
    minutes, reason, note = _mark_fields(chain, status, minutes, reason, note, proof)
    if chain.cancelled:
        raise AttendanceRefused("cette séance est annulée : il n'y a rien à relever")
    settings = store.settings()
    now = _now(store, now)
    start, _ = va.session_datetimes(chain.session, settings.timezone)
    if status != "justified" and now < start:
        raise AttendanceRefused("un retard, un départ anticipé ou une absence se relève une fois la séance commencée")
    if proof is not None:
        try:
            store._plan_upload(proof[0], proof[1], 0)  # the upload's checks (size, type) before anything is written
        except InvalidInput as exc:
            raise InvalidInput([FieldError(("proof",), f"justificatif : {e.message}") for e in exc.errors]) from None
    with store.history.serialised(f"attendance.{learner_id}"):
        _expected(store, chain, learner_id)
        label = MARK_STATUSES[status]
        fields = {"type": "attendance-mark", "date": now.isoformat(), "visibility": "shared",
                  "title": f"{label} : {describe(chain.session)}"[:200], "session": chain.id, "status": status}
        if minutes is not None:
            fields["minutes"] = minutes
        stored = store.append_entry(learner_id, fields, "", author=username, role=role, now=now, author_name=name,
                                    internal=True, message=f"{learner_id} : relevé de présence, séance {chain.id} "
                                                           f"({status}, {username})")
        if reason or note or proof is not None:
            body = "\n\n".join(x for x in (f"Motif : {reason}" if reason else "", note) if x)[:MAX_BODY]
            store.append_entry(learner_id, {"type": "feedback", "date": now.isoformat(), "visibility": "staff",
                                            "title": f"Relevé de présence : {label.lower()}"[:200],
                                            "about": stored.id}, body or "Justificatif joint.",
                               author=username, role=role, now=now, author_name=name,
                               uploads=[proof] if proof is not None else (),
                               message=f"{learner_id} : note du relevé {stored.id} ({username})")
    log.info("relevé : apprenant·e %s, séance %s, %s, par %s", learner_id, chain.id, status, username)
    return stored
