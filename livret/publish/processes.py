"""Build processes: a fork server that imports this livret, whatever folder livret runs from.

Builds run in processes forked from multiprocessing's fork server (fast:
MkDocs and the theme are imported once; safe while the app runs threads).
Python 3.11 starts that server as ``python -c …``, which puts the current
folder first in ``sys.path`` and does not apply the parent's path before the
preload: started from a folder holding a ``livret/`` directory (a project
named livret, another checkout), the server imported that instead, and every
build failed.  The server is therefore started here, once, with
``PYTHONSAFEPATH`` set (no current folder in its path).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

#: What build processes import before their first build.
PRELOAD = ["livret.publish.build", "livret.publish.mkdocs_plugin", "mkdocs.commands.build"]

_lock = threading.Lock()


def build_context() -> ForkServerContext:
    """The multiprocessing context for build processes, its server running from a safe path."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    with _lock:
        saved = os.environ.get("PYTHONSAFEPATH")
        os.environ["PYTHONSAFEPATH"] = "1"
        # Ctrl+C (SIGINT to the process group) is the parent's to handle; the server sets SIGINT
        # aside only *after* its preload, so one arriving while it imports killed it with a
        # KeyboardInterrupt traceback. An ignored signal stays ignored across exec: ignored here
        # for the instant of the start (only the main thread may change a handler, which is why
        # ``livret serve`` starts the server from it, before serving: see start_build_server).
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            forkserver.ensure_running()  # started now, with this environment (or already running)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
            if saved is None:
                os.environ.pop("PYTHONSAFEPATH", None)
            else:
                os.environ["PYTHONSAFEPATH"] = saved
    return context


def start_build_server() -> None:
    """Start the build processes' server now, from the main thread (see :func:`build_context`)."""
    build_context()
