"""Keeping the witnesses up to date in the background: push to the witness repository, daily timestamp.

Never on a write's path: a remote or a TSA that is down costs nothing to the
people writing entries; the work is retried at the next round and the admin
dashboard says the witness is late (:meth:`SealUpkeep.late`).  The app runs
one :class:`SealUpkeep` thread when a witness is configured; ``livret seal
push`` and ``livret seal timestamp`` do the same on demand.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from ..jobs.periodic import PeriodicRounds
from .journal import Journal
from .timestamps import TimestampError, Timestamps, load_roots
from .witness import Witness, WitnessError

log = logging.getLogger("livret.seal")

#: Seconds between two rounds.
INTERVAL = 600.0
#: A witness whose last success is older than this is late.
LATE_AFTER = dt.timedelta(days=1)


@dataclass
class WitnessState:
    """What the last rounds did, for one witness (``remote`` or ``timestamps``)."""

    configured: bool = False
    last_success: dt.datetime | None = None
    last_error: str | None = None


class SealUpkeep(PeriodicRounds):
    """A thread that pushes the journal to the witness repository and timestamps its head daily."""

    thread_name = "livret-seal"

    def __init__(self, project, *, interval: float = INTERVAL):
        super().__init__(interval)
        self.project = project
        self.states = {"remote": WitnessState(), "timestamps": WitnessState()}
        self._lock = threading.Lock()

    def run_once(self, now: dt.datetime | None = None) -> dict[str, WitnessState]:
        """One round: push what the remote lacks, timestamp the head if due. Never raises."""
        now = now or dt.datetime.now(dt.timezone.utc)
        with self._lock:
            settings = self.project.store.settings().seal
            journal = Journal.for_project(self.project)
            remote, stamps = self.states["remote"], self.states["timestamps"]
            remote.configured = bool(settings.witness_remote)
            stamps.configured = bool(settings.tsa_url and settings.tsa_ca)
            if remote.configured:
                try:
                    Witness(journal, settings.witness_remote).push()
                    remote.last_success, remote.last_error = now, None
                except (WitnessError, OSError) as exc:
                    remote.last_error = str(exc)
                    log.warning("dépôt témoin : envoi reporté (%s)", exc)
            if stamps.configured:
                try:
                    timestamps = Timestamps(journal)
                    if timestamps.due(now):
                        ca = Path(settings.tsa_ca)
                        ca = ca if ca.is_absolute() else self.project.root / ca
                        timestamps.checkpoint(settings.tsa_url, load_roots(ca.read_bytes()))
                    stamps.last_success, stamps.last_error = now, None
                except (TimestampError, OSError) as exc:
                    stamps.last_error = str(exc)
                    log.warning("horodatage : reporté (%s)", exc)
            return {k: WitnessState(v.configured, v.last_success, v.last_error) for k, v in self.states.items()}

    def late(self, now: dt.datetime | None = None) -> list[str]:
        """French lines for the admin dashboard: each configured witness that is late, and why."""
        now = now or dt.datetime.now(dt.timezone.utc)
        labels = {"remote": "Dépôt témoin", "timestamps": "Horodatage du journal"}
        out = []
        with self._lock:
            for name, state in self.states.items():
                if not state.configured or state.last_error is None:
                    continue
                if state.last_success is None or now - state.last_success > LATE_AFTER:
                    out.append(f"{labels[name]} en retard : {state.last_error}")
        return out
