"""Attachments: checking an upload (size, sniffed type, safe name) and storing it."""

from __future__ import annotations

from ulid import ULID

from . import atomic
from .attachments import AttachmentError, allowed_labels, sniff, stored_name
from .errors import FieldError, InvalidInput
from .french import megabytes, size
from .records import StoreError
from .writer import os_message


def shown_name(name: str) -> str:
    """A sent file's name as an error message names it: its last part, printable, at most 80 characters."""
    base = "".join(c for c in (name or "").replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable()).strip()
    return (base[:77] + "…" if len(base) > 80 else base) or "fichier sans nom"


class Uploads:
    """Attachment writes; mixed into :class:`~livret.store.api.Store`."""

    def _plan_upload(self, name: str, data: bytes, index: int) -> tuple[str, bytes]:
        loc = ("attachments", index)
        named = f"« {shown_name(name)} » : "
        limit = int(self.settings().uploads.max_mb * 1024 * 1024)
        if len(data) > limit:
            raise InvalidInput([FieldError(loc, f"{named}fichier trop volumineux ({size(len(data))} ; "
                                                f"au plus {megabytes(limit)})")])
        if not data:
            raise InvalidInput([FieldError(loc, f"{named}fichier vide")])
        try:
            mime = sniff(data)
            if mime is None:
                raise InvalidInput([FieldError(loc, f"{named}type de fichier non accepté "
                                                    f"(acceptés : {allowed_labels()})")])
            stored = stored_name(name, mime)
        except AttachmentError as exc:
            raise InvalidInput([FieldError(loc, exc.error.message)]) from None
        short = str(ULID())[-8:].lower()
        return f"files/{short}-{stored}", data

    def save_attachment(self, learner_id: str, name: str, data: bytes, *, author: str) -> str:
        """Store one file on its own (API upload); returns ``files/<name>`` to cite in an entry."""
        self.load_learner(learner_id)
        rel_file, data = self._plan_upload(name, data, 0)
        self.writable_folder(learner_id, "files")
        target = self.learner_dir(learner_id) / rel_file
        with self.history.writing():
            try:
                atomic.create_new(target, data)
            except OSError as exc:
                raise StoreError(os_message(exc)) from None
            self._commit_or_undo(learner_id, [target], author=author,
                                 message=f"{learner_id} : pièce jointe {rel_file} ({author})")
        return rel_file

