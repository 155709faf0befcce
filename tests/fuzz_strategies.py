"""Hypothesis strategies for entry input, derived from the one schema (livret.store.schema).

Nothing here re-declares an entry's fields: each type's keys, types, bounds,
patterns and allowed values come from its pydantic model's JSON schema.
What the schema cannot know (the learner's framework codes and scale, a
plausible date, the ids of entries already in the store) is drawn from the
project, so that a good share of the generated input is accepted and both
properties get exercised: accepted input round-trips, rejected input
changes nothing.

Every strategy mixes in plainly wrong values (wrong types, out-of-range
numbers, missing required keys, unknown keys, server keys) at a lower rate.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from hypothesis import strategies as st

from livret.store.schema import ENTRY_MODELS, SERVER_KEYS, Framework

#: Text a person could type (no lone surrogates: no browser or JSON decoder produces them).
TEXT_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
ANY_TEXT = st.text(TEXT_CHARS, max_size=60)
#: JSON values of any kind, for "wrong type" inputs.
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=5,
)
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
#: The first day an entry of the factories' learners may be dated (180 days before their start on
#: 5 January 2026, livret.store.date_range): calendar dates are drawn from there, so that plans and
#: periods are accepted as often as other entries; dates after NOW or after the range are still drawn.
FIRST_DAY = dt.date(2025, 7, 9)
ZONES = st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=2)),
                         dt.timezone(dt.timedelta(hours=-5, minutes=-30))])


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return defs[ref.rsplit("/", 1)[-1]] if ref else schema


def from_json_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for a (pydantic-generated) JSON schema: the subset pydantic emits."""
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        return st.one_of([from_json_schema(s, defs) for s in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -10**6), schema.get("maximum", 10**6))
    if kind == "number":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -10**6))
        hi = schema.get("maximum", schema.get("exclusiveMaximum", 10**6))
        return st.floats(lo, hi, exclude_min="exclusiveMinimum" in schema,
                         exclude_max="exclusiveMaximum" in schema, allow_nan=False)
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2027, 12, 31), timezones=ZONES).map(
                lambda d: d.isoformat())
        if fmt == "date":
            return st.dates(FIRST_DAY, dt.date(2028, 3, 31)).map(dt.date.isoformat)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(TEXT_CHARS, min_size=schema.get("minLength", 0),
                       max_size=min(schema.get("maxLength", 80), 80))
    if kind == "array":
        return st.lists(from_json_schema(schema.get("items", {}), defs), max_size=3)
    if kind == "object":
        return fields_of(schema, defs)
    return JUNK


def fields_of(schema: dict[str, Any], defs: dict[str, Any], overrides: dict[str, st.SearchStrategy] | None = None,
              skip: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with every required key and some optional ones, each drawn from its schema."""
    overrides = overrides or {}
    props = {k: v for k, v in schema.get("properties", {}).items() if k not in skip}
    required = [k for k in schema.get("required", []) if k in props]
    optional = [k for k in props if k not in required]
    return st.fixed_dictionaries(
        {k: overrides.get(k, from_json_schema(props[k], defs)) for k in required},
        optional={k: overrides.get(k, from_json_schema(props[k], defs)) for k in optional},
    )


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` four times out of five."""
    return st.one_of(good, good, good, good, bad)


def _ratings(framework: Framework) -> st.SearchStrategy[list[dict[str, Any]]]:
    codes = [c.code for _, c in framework.competencies()]
    levels = [v.value for v in framework.scale.values]
    rating = st.fixed_dictionaries(
        {"code": mostly(st.sampled_from(codes), st.from_regex(r"[A-Z][0-9]{1,2}", fullmatch=True))},
        optional={"level": mostly(st.sampled_from(levels) | st.integers(1, 4),
                                  st.none() | ANY_TEXT | st.integers(0, 9))},
    )
    return st.lists(rating, max_size=3, unique_by=lambda r: r["code"]) | st.lists(rating, max_size=3)


def plausible_date() -> st.SearchStrategy[str]:
    """Mostly before NOW (accepted), sometimes after (rejected: an entry describes the past)."""
    return st.datetimes(dt.datetime(2025, 9, 1), dt.datetime(2026, 12, 31), timezones=ZONES).map(
        lambda d: d.isoformat())


class Existing(int):
    """Stands for "the n-th entry already in the store": resolved by the test, so that the
    strategy itself does not depend on the store's state (hypothesis replays draws)."""


def resolve_refs(fields: dict[str, Any], entry_ids: list[str]) -> dict[str, Any]:
    return {k: (entry_ids[v % len(entry_ids)] if entry_ids else None) if isinstance(v, Existing) else v
            for k, v in fields.items()}


def entry_input(framework: Framework, types: tuple[str, ...] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Form or API input for a new entry: the schema's fields minus those the server sets.

    References to other entries come out as :class:`Existing` (see :func:`resolve_refs`).
    """
    refs = mostly(st.none() | st.integers(0, 50).map(Existing),
                  st.from_regex(r"[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True))
    overrides = {"competencies": _ratings(framework), "date": plausible_date(),
                 "about": refs, "corrects": refs, "updates": refs,
                 "attachments": mostly(st.just([]), st.lists(st.from_regex(r"files/[a-z]{1,8}\.pdf", fullmatch=True),
                                                               min_size=1, max_size=1))}
    strategies = []
    for name, model in ENTRY_MODELS.items():
        if (types and name not in types) or (not types and not model.direct):
            continue  # a type only its service writes (a signature, a mark) is refused on this path by design
        schema = model.model_json_schema()
        strategies.append(fields_of(schema, schema.get("$defs", {}), overrides, skip=SERVER_KEYS))
    valid_ish = st.one_of(strategies)
    return st.one_of(
        valid_ish, valid_ish, valid_ish,
        valid_ish.flatmap(_damaged),
    )


def _damaged(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The same input with one thing wrong: a key dropped, a wrong value, an unknown or a server key."""
    keys = sorted(fields)
    drop = st.sampled_from(keys).map(lambda k: {x: v for x, v in fields.items() if x != k})
    wrong = st.tuples(st.sampled_from(keys), JUNK).map(lambda kv: {**fields, kv[0]: kv[1]})
    extra = st.tuples(st.sampled_from(["titre", "content", "body", *SERVER_KEYS]) | st.text(string.ascii_lowercase,
                                                                                           min_size=1, max_size=8),
                      JUNK).map(lambda kv: {**fields, kv[0]: kv[1]})
    return drop | wrong | extra


def role_for(entry_type: Any) -> st.SearchStrategy[str]:
    """Mostly a role allowed to write the type, sometimes any role."""
    model = ENTRY_MODELS.get(entry_type) if isinstance(entry_type, str) else None
    writers = sorted(model.writers) if model else []
    roles = st.sampled_from(["learner", "tutor", "company", "auditor", "admin"])
    return mostly(st.sampled_from(writers), roles) if writers else roles


BODY = st.text(TEXT_CHARS, max_size=300) | st.sampled_from(["", "Texte.", "---\nnot: front matter\n---",
                                                             "  indenté", "# Titre\n\n- liste\n", "\r\nretour"])


# --------------------------------------------------------------------------
# Form input: what a browser posts to an entry form (text only)
# --------------------------------------------------------------------------

LOCAL_TIMES = st.datetimes(dt.datetime(2025, 9, 1), dt.datetime(2026, 12, 31)).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M"))
FORM_JUNK = st.one_of(ANY_TEXT, st.sampled_from(["", " ", "0", "-1", "1e9", "nan", "2026-02-30", "25:99",
                                                  "2026-13-01T10:00", "' OR 1=1 --", "<script>x</script>",
                                                  "../../etc/passwd", "\x00", "é" * 300]))


def _form_value(spec) -> st.SearchStrategy[str]:
    """Text for one input of the form, by the kind the form derived from the schema."""
    if spec.kind == "datetime":
        good = LOCAL_TIMES
    elif spec.kind == "date":
        good = st.dates(FIRST_DAY, dt.date(2028, 3, 31)).map(dt.date.isoformat)
    elif spec.kind == "integer":
        good = st.integers(spec.attrs.get("min", 0), spec.attrs.get("max", 10**6)).map(str)
    elif spec.kind == "number":
        good = st.floats(0, spec.attrs.get("max", 2000), allow_nan=False).map(lambda x: f"{x:.1f}".replace(".", ","))
    elif spec.kind == "choice":
        good = st.sampled_from([value for value, _ in spec.choices])
    elif spec.kind == "lines":
        good = st.lists(st.text(TEXT_CHARS, min_size=1, max_size=40), max_size=3).map("\n".join)
    elif spec.kind == "entry":
        good = st.just("")
    else:
        good = st.text(TEXT_CHARS, min_size=1, max_size=120)
    return mostly(good, FORM_JUNK)


def form_input(framework: Framework, entry_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """A posted entry form: each input the form derives from the schema, the competency picker, the text."""
    from forms_app.entry_forms import field_specs

    specs = field_specs(ENTRY_MODELS[entry_type])
    codes = [c.code for _, c in framework.competencies()]
    levels = [v.value for v in framework.scale.values]
    picker = st.dictionaries(
        st.integers(0, len(codes) + 1).map(lambda i: f"competencies-{i}-level"),
        mostly(st.sampled_from(levels), FORM_JUNK), max_size=3)
    return st.tuples(
        st.fixed_dictionaries({s.name: _form_value(s) for s in specs if s.required},
                              optional={s.name: _form_value(s) for s in specs if not s.required}),
        picker,
        st.fixed_dictionaries({}, optional={"competencies": st.lists(mostly(st.sampled_from(codes), ANY_TEXT),
                                                                      max_size=3),
                                            "body": BODY,
                                            "inconnu": FORM_JUNK}),
    ).map(lambda parts: {**parts[0], **parts[1], **parts[2]})
