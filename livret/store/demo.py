"""The shipped demo organisation, moved to the present.

The demo in ``portfolios/`` describes a training organisation as it stands on
:data:`DEMO_TODAY`.  Tried a year later, every learner would look abandoned
(no contact for a year, every plan overdue).  ``livret demo`` therefore moves
every date of its *copy* forward by whole weeks (weekdays stay weekdays), so
that the demo always looks as it did on its reference day.  The shipped files
are never touched, and the copy is written before its git history starts: no
entry is ever rewritten in a store that has a history.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from .schema import SESSIONS_DIR
from .signatures import file_sha256
from .yamlio import dump_yaml, load_yaml, parse_front_matter, render_front_matter

#: The day the shipped demo describes (docs/demo.md).
DEMO_TODAY = dt.date(2026, 11, 21)

DATETIME_KEYS = ("date", "recorded")
DATE_KEYS = ("due", "period_start", "period_end", "start", "end")


def demo_shift(today: dt.date, reference: dt.date = DEMO_TODAY) -> dt.timedelta:
    """Whole weeks from the reference day to ``today`` (never backwards)."""
    return dt.timedelta(weeks=max(0, (today - reference).days // 7))


def _shift_datetime(value: str, delta: dt.timedelta, tz: ZoneInfo) -> str:
    moment = dt.datetime.fromisoformat(value)
    local = moment.astimezone(tz).replace(tzinfo=None) + delta
    return local.replace(tzinfo=tz).isoformat()


def _shift(data: dict, delta: dt.timedelta, tz: ZoneInfo) -> dict:
    out = dict(data)
    if isinstance(out.get("calendar"), list):  # the work-study periods of a profile or a group
        out["calendar"] = [_shift(p, delta, tz) if isinstance(p, dict) else p for p in out["calendar"]]
    for key in DATETIME_KEYS:
        if isinstance(out.get(key), str):
            out[key] = _shift_datetime(out[key], delta, tz)
    for key in DATE_KEYS:
        if isinstance(out.get(key), str):
            out[key] = (dt.date.fromisoformat(out[key]) + delta).isoformat()
    return out


def rebase_dates(portfolios: Path, today: dt.date, *, timezone: str = "Europe/Paris") -> dt.timedelta:
    """Move every date of a fresh demo copy forward so that it reads as of ``today``.

    Entry files are renamed after their new date.  Call it only on a copy
    that has no history yet.
    """
    delta = demo_shift(today)
    if not delta:
        return delta
    if (portfolios / ".git").exists():
        raise RuntimeError("rebase_dates() réécrit les fichiers : seulement sur une copie sans historique")
    tz = ZoneInfo(timezone)
    for profile in sorted(portfolios.glob("*/learner.md")):
        doc = parse_front_matter(profile.read_text(encoding="utf-8"))
        profile.write_text(render_front_matter(_shift(doc.data, delta, tz), doc.body), encoding="utf-8")
    for group in sorted(portfolios.glob("_groups/*.yml")):  # their dates and work-study calendars
        data = load_yaml(group.read_text(encoding="utf-8")).data
        if isinstance(data, dict):
            group.write_text(dump_yaml(_shift(data, delta, tz)), encoding="utf-8")
    moved: dict[str, str] = _move_sessions(portfolios, delta, tz)  # old path -> new path, relative to portfolios/
    signatures: list[Path] = []
    for path in sorted(portfolios.glob("*/entries/*.md")):
        doc = parse_front_matter(path.read_text(encoding="utf-8"))
        data = _shift(doc.data, delta, tz)
        day = dt.datetime.fromisoformat(data["date"]).date().isoformat()
        name = day + path.name[10:] if path.name[:10] == doc.data["date"][:10] else path.name
        (path.parent / name).write_text(render_front_matter(data, doc.body), encoding="utf-8")
        if name != path.name:
            path.unlink()
        moved[path.relative_to(portfolios).as_posix()] = (path.parent / name).relative_to(portfolios).as_posix()
        if data.get("type") == "signature":
            signatures.append(path.parent / name)
    for path in _sealing_order(portfolios, signatures, moved):
        _reseal(portfolios, path, moved)
    return delta


def _move_sessions(portfolios: Path, delta: dt.timedelta, tz: ZoneInfo) -> dict[str, str]:
    """Move the training sessions (``_sessions/<YYYY-MM>/<date>-<half-day>-<id>.yml``): their ``date`` and
    ``recorded``, their file name and month folder.  Returns old path -> new path (relative to portfolios/)."""
    moved: dict[str, str] = {}
    for path in sorted(portfolios.glob(f"{SESSIONS_DIR}/*/*.yml")):
        data = load_yaml(path.read_text(encoding="utf-8")).data
        if not isinstance(data, dict) or not isinstance(data.get("date"), str):
            continue
        day = dt.date.fromisoformat(data["date"]) + delta
        data = {**data, "date": day.isoformat()}
        if isinstance(data.get("recorded"), str):
            data["recorded"] = _shift_datetime(data["recorded"], delta, tz)
        rel = f"{SESSIONS_DIR}/{day:%Y-%m}/{day.isoformat()}{path.name[10:]}"
        target = portfolios / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump_yaml(data), encoding="utf-8")
        if target != path:
            path.unlink()
        moved[path.relative_to(portfolios).as_posix()] = rel
    for folder in portfolios.glob(f"{SESSIONS_DIR}/*"):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return moved


def _sealing_order(portfolios: Path, signatures: list[Path], moved: dict[str, str]) -> list[Path]:
    """Signatures in an order where a signature that seals another one (a trainer's countersignature
    seals the learner's signature) comes after it: its seal is computed over the resealed file."""
    rels = {p.relative_to(portfolios).as_posix(): p for p in signatures}
    sealed = {rel: {moved.get(item["path"], item["path"])
                    for item in parse_front_matter(p.read_text(encoding="utf-8")).data.get("signed") or []}
              for rel, p in rels.items()}
    order: list[Path] = []
    done: set[str] = set()
    while len(done) < len(rels):
        ready = [rel for rel in rels if rel not in done and not (sealed[rel] & (set(rels) - done - {rel}))]
        if not ready:  # a cycle cannot be sealed: keep the rest in path order
            ready = [rel for rel in rels if rel not in done]
        for rel in sorted(ready):
            order.append(rels[rel])
            done.add(rel)
    return order


def _reseal(portfolios: Path, path: Path, moved: dict[str, str]) -> None:
    """A shipped signature seals the shipped file; its moved copy seals the copy (moved before any
    history exists: this is the demo being set up, not a signed file changed afterwards)."""
    doc = parse_front_matter(path.read_text(encoding="utf-8"))
    signed = []
    for item in doc.data.get("signed") or []:
        rel = moved.get(item["path"], item["path"])
        digest = file_sha256(portfolios, rel)
        signed.append({"path": rel, "sha256": digest or item["sha256"]})
    path.write_text(render_front_matter({**doc.data, "signed": signed}, doc.body), encoding="utf-8")
