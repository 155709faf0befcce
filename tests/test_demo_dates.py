"""The demo moved to the present: a copy tried a year later reads as it did on its reference day."""

import datetime as dt
import shutil
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from factories import REPO

from livret.store.demo import DEMO_TODAY, demo_shift, rebase_dates
from livret.store.project import Project
from livret.store.signatures import check_seal
from livret.views import progress as pg


@pytest.fixture
def copy(tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(REPO / "portfolios", root / "portfolios", ignore=shutil.ignore_patterns(".git"))
    return Project.at(root)


def attention_codes(project, today):
    out = {}
    for lid in project.store.learner_ids():
        rec = project.store.load_learner(lid)
        out[lid] = sorted(a.code for a in pg.attention(rec.profile, rec.entries, pg.Thresholds(), today))
    return out


def test_shift_is_whole_weeks_and_never_backwards():
    assert demo_shift(DEMO_TODAY) == dt.timedelta(0)
    assert demo_shift(DEMO_TODAY - dt.timedelta(days=30)) == dt.timedelta(0)
    assert demo_shift(DEMO_TODAY + dt.timedelta(days=13)) == dt.timedelta(weeks=1)


def test_a_year_later_the_demo_reads_the_same(copy):
    before = attention_codes(copy, DEMO_TODAY)
    names = sorted(p.name for p in copy.portfolios.glob("*/entries/*.md"))
    later = DEMO_TODAY + dt.timedelta(days=400)
    delta = rebase_dates(copy.portfolios, later)
    assert delta == dt.timedelta(weeks=57)
    fresh = Project.at(copy.root)  # a new store: no cached parse
    assert fresh.store.check() == []
    assert attention_codes(fresh, DEMO_TODAY + delta) == before  # the reference day, moved
    moved = sorted(p.name for p in copy.portfolios.glob("*/entries/*.md"))
    assert len(moved) == len(names) and moved != names
    latest = max(e.meta.date.date() for lid in fresh.store.learner_ids()
                 for e in fresh.store.load_learner(lid).entries if e.type != "planned-meeting")  # what happened
    assert latest <= later
    weekdays = {e.meta.date.weekday() for lid in fresh.store.learner_ids()
                for e in fresh.store.load_learner(lid).entries}
    assert weekdays <= {0, 1, 2, 3, 4}  # the demo's working days stay working days
    signatures = [e.meta for lid in fresh.store.learner_ids() for e in fresh.store.load_learner(lid).entries
                  if e.meta.type == "signature"]
    assert signatures and all(check_seal(fresh.store.root, s).intact for s in signatures)  # sealed again
    assert all(s.signed[0].path.split("/")[-1][:10] != "2026-03-04" for s in signatures)  # the moved files


def test_refuses_a_store_with_history(copy):
    (copy.portfolios / ".git").mkdir()
    with pytest.raises(RuntimeError):
        rebase_dates(copy.portfolios, DEMO_TODAY + dt.timedelta(days=30))


def test_work_study_calendars_move_with_the_demo(copy):
    """The calendar periods of profiles and groups (``_groups/*.yml``) move with the entries: a week at
    the centre stays a Monday-to-Friday week, and the periods keep their place around the moved entries."""
    from livret.admin.groups import create_group
    from livret.store.schema import CalendarPeriod

    before = copy.store.profile("lucas-moreau").calendar
    assert before and {p.kind for p in before} == {"centre", "entreprise", "absence"}
    gid = create_group(copy.store, {"name": "Promo", "start": "2026-02-02"}, ["lucas-moreau"], author="ada")
    group, _ = copy.store.group(gid)
    period = CalendarPeriod(start=dt.date(2026, 2, 2), end=dt.date(2026, 2, 6), kind="centre")
    from livret.store.writer import GroupChange
    copy.store.write_changes((), [GroupChange(group.model_copy(update={"calendar": [period]}), "*")], author="ada",
                             message="calendrier")
    delta = rebase_dates(copy.portfolios, DEMO_TODAY + dt.timedelta(days=400))
    fresh = Project.at(copy.root)
    assert fresh.store.check() == []
    after = fresh.store.profile("lucas-moreau").calendar
    assert [(p.start - delta, p.end - delta, p.kind) for p in after] == [(p.start, p.end, p.kind) for p in before]
    assert all(p.start.weekday() == 0 for p in after if p.kind == "centre")
    moved, _ = fresh.store.group(gid)
    assert moved.calendar[0].start == period.start + delta and moved.start == dt.date(2026, 2, 2) + delta


def test_the_month_of_signed_sessions_moves_with_the_demo_and_verifies(tmp_path):
    """A fresh ``livret demo`` (its copy moved to today): the sessions, their files and months, and every
    record naming them move together; the signatures are sealed again over the moved files (the
    countersignatures over the resealed learners' signatures), so ``livret check`` and ``livret verify``
    pass, and the signed month ends in the week before the demo's moved day."""
    from click.testing import CliRunner

    from livret.cli import main
    from livret.cli.serve_cmds import make_demo
    from livret.views import attendance as va

    today = DEMO_TODAY + dt.timedelta(days=400)
    project = make_demo(tmp_path / "demo", today=today)
    delta = demo_shift(today)
    store = project.store
    assert store.check() == []
    chains = va.load_chains(store)
    assert len(chains) >= 30 and all(c.first.path.startswith(f"_sessions/{c.session.date:%Y-%m}/")
                                     for c in chains.values())
    days = sorted(c.session.date for c in chains.values())
    assert days[0] == dt.date(2026, 11, 2) + delta and days[0].weekday() == 0
    moved_today = DEMO_TODAY + delta
    now = dt.datetime.combine(moved_today, dt.time(12), ZoneInfo("Europe/Paris"))
    rows = va.learner_attendance(store, "kevin-lefebvre", now)
    states = Counter(r.state for r in rows)
    assert states["absent"] == 3 and states["justified"] == 1 and states["late"] == 1
    assert states["unsigned"] == 0 and states["open"] == 0
    assert max(r.session.date for r in rows if r.state != "upcoming") >= moved_today - dt.timedelta(days=3)
    signed = [r.signature for r in rows if r.signature is not None]
    assert all(r.signature.meta.signed[0].path == r.chain.latest.path for r in rows if r.signature is not None)
    assert signed and all(check_seal(store.root, s.meta).intact for s in signed)
    counters = [r.countersignature for r in rows if r.countersignature is not None]
    assert counters and all(check_seal(store.root, c.meta).intact for c in counters)
    result = CliRunner().invoke(main, ["--root", str(project.root), "verify"])
    assert result.exit_code == 0, result.output
