"""What the app holds for one project, reachable from any view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app

from livret.instance.accounts import Accounts
from livret.jobs import JobQueue
from livret.mail.sender import MailSender
from livret.publish.rebuild import LearnerState, RebuildWorker
from livret.seal.upkeep import SealUpkeep
from livret.store import Commit
from livret.store.project import Project


@dataclass
class Livret:
    project: Project
    accounts: Accounts
    #: None when background rebuilds are off (``LIVRET_REBUILD = False``).
    rebuild: RebuildWorker | None
    #: Work kept out of request threads (audit packs): :mod:`livret.jobs`.
    jobs: JobQueue
    #: The witnesses' background upkeep (:mod:`livret.seal.upkeep`); says when one is late.
    seal: SealUpkeep
    #: The outbox's background sender (:mod:`livret.mail.sender`); None when ``LIVRET_MAIL_SENDER`` is off.
    mail: MailSender | None = None

    def now(self) -> dt.datetime:
        """Now in the organisation's timezone (Europe/Paris unless set otherwise)."""
        return dt.datetime.now(ZoneInfo(self.project.store.settings().timezone)).replace(microsecond=0)

    def today(self) -> dt.date:
        return self.now().date()

    def request_rebuild(self, learner_id: str) -> None:
        if self.rebuild is not None:
            self.rebuild.request(learner_id)

    def stale_sites(self) -> dict[str, LearnerState]:
        """Learners whose published portfolio no longer follows the store (its last rebuild failed)."""
        return self.rebuild.stale() if self.rebuild is not None else {}

    def rebuild_after(self, commit: Commit) -> None:
        """The store's after-commit hook: every write, whatever its path, reaches the sites."""
        for learner_id in dict.fromkeys(commit.learners + commit.affected):
            self.request_rebuild(learner_id)


def livret() -> Livret:
    return current_app.extensions["livret"]
