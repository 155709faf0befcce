"""What the app holds for one project, reachable from any view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app

from livret.instance.accounts import Accounts
from livret.publish.rebuild import RebuildWorker
from livret.store import Commit
from livret.store.project import Project


@dataclass
class Livret:
    project: Project
    accounts: Accounts
    #: None when background rebuilds are off (``LIVRET_REBUILD = False``).
    rebuild: RebuildWorker | None

    def now(self) -> dt.datetime:
        """Now in the organisation's timezone (Europe/Paris unless set otherwise)."""
        return dt.datetime.now(ZoneInfo(self.project.store.settings().timezone)).replace(microsecond=0)

    def today(self) -> dt.date:
        return self.now().date()

    def request_rebuild(self, learner_id: str) -> None:
        if self.rebuild is not None:
            self.rebuild.request(learner_id)

    def rebuild_after(self, commit: Commit) -> None:
        """The store's after-commit hook: every write, whatever its path, reaches the sites."""
        self.request_rebuild(commit.learner_id)


def livret() -> Livret:
    return current_app.extensions["livret"]
