"""Signing an entry: the one signature record, written only here.

:func:`sign` checks, in this order, that the entry exists and is visible to
the signer's role (unknown and not visible get the same :class:`SignRefused`,
so nobody can probe which ids are staff entries), that the signer is
assigned to the learner, that the organisation's rules ask this role to
sign this entry (``signoff.rules`` in ``_organisation.yml``), and that the
signer has not signed it already; then it writes a ``signature`` entry in
the learner's folder (one new file, one commit authored by the signer)
with the SHA-256 of the entry's file and attachments as they are now.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from ..store import StoredEntry, StoreError, UnknownLearner
from ..store.errors import FieldError, InvalidInput
from ..store.french_dates import fr_date
from ..store.schema import SIGN_METHODS, SIGNER_ROLES
from ..store.signatures import seal_of
from ..store.visibility import audience_for, visible_ids
from ..views import signoffs as sv

log = logging.getLogger("livret.signoff")

#: The longest comment a signer may add.
MAX_COMMENT = 2000


class SignRefused(Exception):
    """A signature that is not written; ``str()`` is the French reason.

    ``unknown`` is True for an unknown entry *and* for one the signer may not
    see: the route answers both the same way (404).
    """

    def __init__(self, message: str, *, unknown: bool = False):
        super().__init__(message)
        self.unknown = unknown


def unknown_entry(entry_id: str) -> SignRefused:
    """The one refusal of an entry the signer cannot sign because, for them, it does not exist."""
    return SignRefused(f"aucune entrée {entry_id} à signer chez cet·te apprenant·e", unknown=True)


def sign(store, learner_id: str, entry_id: str, *, username: str, name: str, role: str, method: str,
         comment: str = "", now: dt.datetime | None = None) -> StoredEntry:
    """Write ``username``'s signature of the entry ``entry_id`` of ``learner_id``; the stored signature.

    ``role`` is the signer's account role (``learner``, ``company``,
    ``tutor``), ``name`` their name at signing time, ``method`` how they
    were identified (``password``, ``mail-link``...).  Raises
    :class:`SignRefused` (nothing written), :class:`InvalidInput` (a comment
    too long...) or :class:`~livret.store.StoreError`.
    """
    if method not in SIGN_METHODS:
        raise InvalidInput([FieldError(("method",), f"méthode d'identification inconnue : {method!r}")])
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput([FieldError(("comment",), f"commentaire trop long (au plus {MAX_COMMENT} caractères)")])
    # One signature at a time, across threads and processes: two presses never write two signatures.
    with store.history.serialised("signing"):
        return _sign(store, learner_id, entry_id, username=username, name=name, role=role, method=method,
                     comment=comment, now=now)


def _sign(store, learner_id: str, entry_id: str, *, username: str, name: str, role: str, method: str,
          comment: str, now: dt.datetime | None) -> StoredEntry:
    try:
        record = store.load_learner(learner_id)
    except UnknownLearner:
        raise unknown_entry(entry_id) from None
    profile = record.profile
    metas = [e.meta for e in record.entries]
    entry = record.entry(entry_id)
    if entry is None or entry_id not in visible_ids(metas, audience_for(role)):
        raise unknown_entry(entry_id)
    if profile is None or role not in SIGNER_ROLES or username not in sv.expected_signers(profile, role):
        raise unknown_entry(entry_id)  # not their learner: the learner's entries do not exist for them
    if entry.type == "signature":
        raise SignRefused("une signature ne se signe pas : signez l'entrée elle-même")
    latest = sv.latest_versions(metas)
    if entry.meta not in latest:
        raise SignRefused("cette entrée a été corrigée depuis : signez sa dernière version")
    if role not in sv.roles_asked(entry.meta, store.settings().signoff.rules):
        raise SignRefused("cette entrée n'attend pas votre signature")
    for sig in sv.signatures_by_entry(metas).get(entry_id, []):
        if sig.author == username:
            raise SignRefused(f"déjà signé le {fr_date(sig.date)}")
    settings = store.settings()
    now = now or dt.datetime.now(ZoneInfo(settings.timezone)).replace(microsecond=0)
    try:
        signed = seal_of(store.root, learner_id, entry)
    except FileNotFoundError as exc:
        raise StoreError(f"fichier signé illisible ({exc}) : rien n'a été enregistré") from None
    fields = {
        "type": "signature",
        "date": now.isoformat(),
        "title": f"Signature : {entry.meta.title}"[:200],
        "visibility": entry.visibility,
        "about": entry_id,
        "signer_name": name,
        "method": method,
        "signed": [s.model_dump() for s in signed],
    }
    message = f"{learner_id} : signature de {entry_id} ({username}, {SIGNER_ROLES[role].lower()})"
    stored = store.append_entry(learner_id, fields, comment, author=username, role=role, now=now,
                                author_name=name, internal=True, message=message)
    log.info("signature : apprenant·e %s, entrée %s, signataire %s (%s), méthode %s",
             learner_id, entry_id, username, role, method)
    return stored
