"""Rounds in the background: a daemon thread that runs a round at start, then every ``interval`` seconds.

For work that is retried at its next round rather than queued (the seal's
witnesses, the sign-off reminders): a subclass implements ``run_once()``,
which must never raise (a failing round is logged and tried again later).
"""

from __future__ import annotations

import threading


class PeriodicRounds:
    """``start()`` a thread named :attr:`thread_name` that calls ``run_once()`` every ``interval`` seconds."""

    thread_name = "livret-rounds"

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def run_once(self):  # pragma: no cover - every subclass has its own
        raise NotImplementedError
