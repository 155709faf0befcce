"""Entry forms derived from the one schema (:data:`livret.store.schema.ENTRY_MODELS`).

No entry field is declared here: every input comes from a pydantic field of
the entry type's model (its title is the label, its description the help
text, ``Literal`` values become choices labelled by the schema's ``*_LABELS``
dictionaries, lists become one item per line, dates and numbers get the
matching HTML inputs).  The forms do not validate either: they turn what was
typed into the store's input (``fields``, ``body``, ``uploads``), the store
validates it with the same schema as ``livret check``, and its
:class:`~livret.store.errors.FieldError` locations put each message next to its
input.  What the user typed is kept on error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo
from wtforms import (
    BooleanField,
    Field,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.utils import unset_value

try:  # WTForms >= 3.3 wants choice objects; earlier versions take (value, label) pairs
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None
from wtforms.widgets import CheckboxInput, DateInput, DateTimeLocalInput, ListWidget, NumberInput

from livret.store import schema
from livret.store.attachments import ALLOWED_TYPES
from livret.store.errors import FieldError
from livret.store.schema import ENTRY_ID_RE, SERVER_KEYS, EntryBase, Framework

#: Keys the form never shows as plain inputs: set by the server, by the URL
#: (type, corrects) or by dedicated widgets (competencies, attachments).
NOT_INPUTS = frozenset(SERVER_KEYS) | {"type", "corrects", "competencies", "attachments", "not_observed"}
#: Shown before and after the type's own fields, in this order.
LEADING = ("title", "date")
TRAILING = ("about", "updates", "visibility")
#: Text longer than this gets a multi-line input.
SHORT_TEXT = 200
#: Literal choices up to this many are radio buttons, more a drop-down list.
MAX_RADIOS = 3
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"

_LABEL_SETS = [v for k, v in vars(schema).items() if k.isupper() and isinstance(v, dict)
               and v and all(isinstance(x, str) for x in v) and all(isinstance(x, str) for x in v.values())]


def choice_labels(values: Sequence[str]) -> list[tuple[str, str]]:
    """French labels of a ``Literal``'s values, from the schema's label dictionary with the same keys."""
    for labels in _LABEL_SETS:
        if set(labels) == set(values):
            return [(v, labels[v]) for v in values]
    return [(v, v) for v in values]


@dataclass(frozen=True)
class FieldSpec:
    """One input of an entry form, as derived from the schema."""

    name: str
    kind: str  # text, longtext, lines, integer, number, date, datetime, choice, entry, bool, people
    label: str
    help: str | None
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    default: Any = None
    attrs: dict[str, Any] = field(default_factory=dict)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The base type behind ``Optional[...]`` and ``Annotated[...]``, with the metadata found."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata += extra
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, metadata
            annotation = args[0]
        else:
            return annotation, metadata


def _limits(metadata: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in metadata:
        for attr in ("max_length", "min_length", "pattern", "ge", "gt", "le", "lt"):
            value = getattr(m, attr, None)
            if value is not None:
                out[attr] = value
    return out


def field_spec(name: str, info: FieldInfo) -> FieldSpec:
    base, metadata = _unwrap(info.annotation)
    limits = _limits([*info.metadata, *metadata])
    required = info.is_required()
    default = None if required or info.default_factory is not None else info.default
    common = dict(name=name, label=info.title or name, help=info.description, required=required, default=default)
    origin = typing.get_origin(base)
    if base is bool:
        return FieldSpec(kind="bool", **common)
    if base is AwareDatetime or base is dt.datetime:
        return FieldSpec(kind="datetime", **common)
    if base is dt.date:
        return FieldSpec(kind="date", **common)
    if base is int or base is float:
        attrs = {k: limits[k] for k in ("ge", "le") if k in limits}
        attrs = {("min" if k == "ge" else "max"): v for k, v in attrs.items()}
        if "gt" in limits:
            attrs["min"] = limits["gt"]
        attrs["step"] = 1 if base is int else "any"
        return FieldSpec(kind="integer" if base is int else "number", attrs=attrs, **common)
    if origin is Literal:
        return FieldSpec(kind="choice", choices=tuple(choice_labels(typing.get_args(base))), **common)
    if origin is list:
        item, item_meta = _unwrap(typing.get_args(base)[0])
        if isinstance(item, type) and issubclass(item, BaseModel):  # people: a planned meeting's participants
            return FieldSpec(kind="people", **common)
        item_limits = _limits(item_meta)
        return FieldSpec(kind="lines", attrs={"item_max": item_limits.get("max_length")}, **common)
    if limits.get("pattern") == ENTRY_ID_RE.pattern:
        return FieldSpec(kind="entry", **common)
    max_length = limits.get("max_length")
    kind = "text" if max_length is not None and max_length <= SHORT_TEXT else "longtext"
    return FieldSpec(kind=kind, attrs={"maxlength": max_length} if max_length else {}, **common)


def field_specs(model: type[EntryBase]) -> list[FieldSpec]:
    """The inputs of an entry type: its own fields in the schema's order, then the trailing ones."""
    fields = model.model_fields
    names = [n for n in LEADING if n in fields]
    names += [n for n in fields if n not in NOT_INPUTS and n not in LEADING and n not in TRAILING]
    names += [n for n in TRAILING if n in fields]
    specs = [field_spec(n, fields[n]) for n in names]
    # The visibility a type gets when none is chosen (alerts: staff) is a class setting.
    return [dataclasses.replace(s, default=model.default_visibility) if s.name == "visibility" else s
            for s in specs]


# --------------------------------------------------------------------------
# Conversion between what a form holds (text) and the store's input
# --------------------------------------------------------------------------


def parse_local_datetime(raw: str, tz: str) -> str:
    """``2026-03-02T14:00`` typed in the organisation's timezone -> ISO 8601 with offset.

    Unparsable text is returned as is, for the schema to report it.
    """
    text = raw.strip()
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    offset = value.utcoffset()
    if offset is not None and offset.seconds % 60:  # local mean time before 1911 (Paris: +00:09:21)
        value = value.replace(tzinfo=dt.timezone(dt.timedelta(minutes=round(offset.total_seconds() / 60))))
    return value.isoformat()  # ISO 8601 offsets have whole minutes: the store then names the allowed range


def to_input(spec: FieldSpec, raw: Any, tz: str) -> Any:
    """One form value as store input; None when empty (the schema's default applies)."""
    if spec.kind == "bool":
        return bool(raw)  # an unchecked box posts nothing: false, not the schema's default
    if spec.kind == "people":
        return [dict(p) for p in raw or []] or None
    if raw is None:
        return None
    text = str(raw)
    if spec.kind == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()] or None
    text = text.strip()
    if not text:
        return None
    if spec.kind == "datetime":
        return parse_local_datetime(text, tz)
    if spec.kind == "number":
        return text.replace(",", ".")  # French decimal comma
    return text


def to_text(spec: FieldSpec, value: Any, tz: str) -> str:
    """A stored value as the text a form input shows (for corrections)."""
    if spec.kind == "bool":
        return bool(value)
    if spec.kind == "people":
        return [{"name": p.name, "email": p.email} for p in value or []]
    if value is None:
        return ""
    if spec.kind == "datetime":
        return value.astimezone(ZoneInfo(tz)).strftime(LOCAL_FORMAT)
    if spec.kind == "date":
        return value.isoformat()
    if spec.kind == "lines":
        return "\n".join(value)
    if spec.kind == "number":
        return f"{value:g}"
    return str(value)


REQUIRED_MESSAGE = "clé obligatoire manquante"


def friendly(message: str) -> str:
    """The store speaks of keys (files); a form speaks of fields."""
    if message == REQUIRED_MESSAGE:
        return str(_l("Ce champ est obligatoire."))
    return message[:1].upper() + message[1:]


# --------------------------------------------------------------------------
# Widgets that the schema alone does not give
# --------------------------------------------------------------------------


@dataclass
class CompetencyRow:
    index: int
    code: str
    title: str
    description: str | None
    checked: bool
    level: str
    errors: list[str]


class CompetencyField(Field):
    """The competency picker: the learner's framework, one checkbox (and level) per competency.

    Posted as ``competencies`` (checked codes) and ``competencies-<i>-level``;
    choosing a level also selects the competency, so the picker works
    without JavaScript.  Codes outside the framework are kept, for the store
    to report them.
    """

    #: The observation grid (:class:`ObservationGridField`) is rendered otherwise.
    grid = False

    def __init__(self, label=None, *, framework: Framework | None, levels: str, **kwargs):
        super().__init__(label, **kwargs)
        self.framework = framework
        self.levels = levels
        self.row_errors: dict[str, list[str]] = {}

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        if formdata is None:
            self.data = [dict(item) for item in (data or [])]
            return
        checked = [c for c in formdata.getlist(self.name) if c]
        out: list[dict[str, Any]] = []
        known = self.framework.competencies() if self.framework else []
        for i, (_, comp) in enumerate(known):
            level = (formdata.get(f"{self.name}-{i}-level") or "").strip() if self.levels != "none" else ""
            if comp.code in checked or level:
                out.append({"code": comp.code, "level": level or None})
        codes = {c.code for _, c in known}
        out += [{"code": c, "level": None} for c in dict.fromkeys(checked) if c not in codes]
        self.data = out

    def blocks(self) -> list[tuple[Any, list[CompetencyRow]]]:
        if self.framework is None:
            return []
        chosen = {item["code"]: item.get("level") or "" for item in self.data or []}
        out: list[tuple[Any, list[CompetencyRow]]] = []
        index = 0
        for block in self.framework.blocks:
            rows = []
            for comp in block.competencies:
                rows.append(CompetencyRow(index, comp.code, comp.title, comp.description,
                                          comp.code in chosen, chosen.get(comp.code, ""),
                                          self.row_errors.get(comp.code, [])))
                index += 1
            out.append((block, rows))
        return out

    def scale(self) -> list[tuple[str, str]]:
        return [(v.value, v.label) for v in self.framework.scale.values] if self.framework else []

    def to_input(self) -> list[dict[str, Any]] | None:
        out = [{k: v for k, v in item.items() if v is not None} for item in self.data or []]
        return out or None


#: The grid's value for « non vu en entreprise » (never a level: a framework's levels are short codes).
NOT_SEEN = "non-vu"


class ObservationGridField(CompetencyField):
    """The company tutor's observation grid (type ``observation``): ONE line per competency of the
    framework, each with a level of the framework's scale, « non vu en entreprise » or « — » (not in
    this grid).  Posted as ``competencies-<i>-level``; gives the entry's ``competencies`` (the levels)
    and ``not_observed`` (the codes not seen)."""

    grid = True

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        items: list[dict[str, Any]] = []
        if formdata is None:
            items = [dict(item) for item in (data or [])]
        else:
            known = self.framework.competencies() if self.framework else []
            for i, (_, comp) in enumerate(known):
                level = (formdata.get(f"{self.name}-{i}-level") or "").strip()
                if level:
                    items.append({"code": comp.code, "level": level})
        self.not_seen = [item["code"] for item in items if item.get("level") == NOT_SEEN]
        self.data = [item for item in items if item.get("level") != NOT_SEEN]

    def blocks(self) -> list[tuple[Any, list[CompetencyRow]]]:
        out = super().blocks()
        seen_not = set(self.not_seen)
        for _, rows in out:
            for row in rows:
                if row.code in seen_not:
                    row.level, row.checked = NOT_SEEN, True
        return out

    def not_observed(self) -> list[str] | None:
        return list(self.not_seen) or None


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the month before ``today``'s."""
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def observation_defaults(today: dt.date) -> dict[str, str]:
    """What a new observation grid proposes: last month, and a title naming it."""
    from livret.store.french_dates import MONTHS

    start, end = last_month(today)
    return {"period_start": start.isoformat(), "period_end": end.isoformat(),
            "title": str(_l("Grille d'observation — %(month)s %(year)d", month=MONTHS[start.month - 1],
                            year=start.year))}


class ParticipantsField(Field):
    """Other participants of a planned meeting: rows of a name (posted as ``<name>``) and an address
    (``<name>-email``), a few empty rows to fill; empty rows are ignored."""

    #: Empty rows offered after those filled.
    EMPTY_ROWS = 3

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        if formdata is None:
            self.data = [dict(p) for p in (data or [])]
            return
        names, emails = formdata.getlist(self.name), formdata.getlist(f"{self.name}-email")
        rows = []
        for i in range(max(len(names), len(emails))):
            name = (names[i] if i < len(names) else "").strip()
            email = (emails[i] if i < len(emails) else "").strip()
            if name or email:
                rows.append({"name": name, "email": email})
        self.data = rows

    def rows(self) -> list[tuple[int, dict[str, str]]]:
        filled = list(self.data or [])
        return list(enumerate(filled + [{"name": "", "email": ""}] * self.EMPTY_ROWS))


def plan_defaults(now: dt.datetime) -> dict[str, str]:
    """What a new planned meeting proposes: tomorrow (the next working day) at 9:00."""
    day = now.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return {"date": dt.datetime.combine(day, dt.time(9, 0)).strftime(LOCAL_FORMAT), "duration": "60"}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


#: What the file input offers: the accepted types (phone photos included).
ACCEPT = ",".join(sorted(ALLOWED_TYPES)) + ",image/*,.heic,.heif"


class EntryForm(FlaskForm):
    """Base of every generated entry form; the subclass carries the fields."""

    entry_type: str = ""
    specs: list[FieldSpec] = []
    timezone: str = "Europe/Paris"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []

    def spec_fields(self) -> list[tuple[FieldSpec, Field]]:
        return [(spec, self[spec.name]) for spec in self.specs]

    # ------------------------------------------------------------ input for the store

    def to_fields(self, corrects: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.entry_type}
        for spec, f in self.spec_fields():
            value = to_input(spec, f.data, self.timezone)
            if value is not None:
                data[spec.name] = value
        competencies = self.competencies.to_input()
        if competencies:
            data["competencies"] = competencies
        if isinstance(self.competencies, ObservationGridField) and self.competencies.not_observed():
            data["not_observed"] = self.competencies.not_observed()
        if "keep_attachments" in self and self.keep_attachments.data:
            data["attachments"] = list(self.keep_attachments.data)
        if corrects:
            data["corrects"] = corrects
        return data

    def body_text(self) -> str:
        return (self.body.data or "").replace("\r\n", "\n").strip("\n")

    def uploads(self) -> list[tuple[str, bytes]]:
        out = []
        for storage in self.attachments.data or []:
            if storage is None or not getattr(storage, "filename", ""):
                continue  # no file chosen
            out.append((storage.filename, storage.read()))
        return out

    # ------------------------------------------------------------ errors from the store

    def _add(self, f: Field, message: str) -> None:
        f.errors = [*f.errors, message]

    def place_errors(self, errors: Iterable[FieldError]) -> None:
        """Put each store error next to its input; what has no input goes on top of the form."""
        for err in errors:
            message = friendly(err.message)
            head = err.loc[0] if err.loc else None
            if head == "competencies":
                data = self.competencies.data or []
                if len(err.loc) > 1 and isinstance(err.loc[1], int) and err.loc[1] < len(data):
                    code = data[err.loc[1]]["code"]
                    self.competencies.row_errors.setdefault(code, []).append(message)
                    message = f"{code} : {message}"
                self._add(self.competencies, message)
            elif head == "not_observed":  # the observation grid's « non vu en entreprise » lines
                not_seen = getattr(self.competencies, "not_seen", [])
                if len(err.loc) > 1 and isinstance(err.loc[1], int) and err.loc[1] < len(not_seen):
                    code = not_seen[err.loc[1]]
                    self.competencies.row_errors.setdefault(code, []).append(message)
                    message = f"{code} : {message}"
                self._add(self.competencies, message)
            elif head == "attachments":
                self._add(self.attachments, message)
            elif head in ("body",):
                self._add(self.body, message)
            elif isinstance(head, str) and head in self and head != "csrf_token":
                if len(err.loc) > 1 and isinstance(err.loc[1], int):
                    message = str(_l("Ligne %(n)s : ", n=err.loc[1] + 1)) + message
                self._add(self[head], message)
            else:
                self.general_errors.append(message)

    def all_errors(self) -> list[tuple[str | None, str]]:
        """(input id or None, message) for the error summary at the top of the form."""
        out: list[tuple[str | None, str]] = [(None, m) for m in self.general_errors]
        for f in self:
            for m in f.errors:
                out.append((f.id, f"{f.label.text} : {m}"))
        return out


def options(pairs: Iterable[tuple[str, str]]) -> list:
    """WTForms choices from (value, label) pairs, in the form the installed WTForms expects."""
    pairs = [(str(v), str(label)) for v, label in pairs]
    return [SelectChoice(v, label) for v, label in pairs] if SelectChoice else pairs


def _wtforms_field(spec: FieldSpec, references: Sequence[tuple[str, str]], timezone: str) -> Field:
    kw: dict[str, Any] = {"description": spec.help or ""}
    render = {k: v for k, v in spec.attrs.items() if k in ("min", "max", "step", "maxlength")}
    if spec.kind == "bool":
        return BooleanField(spec.label, default=bool(spec.default), **kw)
    if spec.kind == "people":
        return ParticipantsField(spec.label, description=str(_l(
            "Nom et adresse e-mail de chaque personne : elle reçoit le rappel la veille.")))
    if spec.kind == "choice":
        choices = list(spec.choices)
        default = spec.default
        if len(choices) <= MAX_RADIOS:
            return RadioField(spec.label, choices=options(choices), default=default, validate_choice=False, **kw)
        if default is None:
            choices = [("", str(_l("— choisir —")))] + choices
        return SelectField(spec.label, choices=options(choices), default=default or "", validate_choice=False, **kw)
    if spec.kind == "entry":
        choices = [("", str(_l("— aucune —")))] + list(references)
        if len(references) > LONG_LIST:  # a filter box above it (static/select-filter.js)
            kw["render_kw"] = {"data-filter": str(_l("Rechercher dans la liste « %(label)s »", label=spec.label))}
        return SelectField(spec.label, choices=options(choices), default="", validate_choice=False, **kw)
    if spec.kind in ("longtext", "lines"):
        if spec.kind == "lines":
            kw["description"] = (spec.help + " " if spec.help else "") + str(_l("Une ligne par élément."))
        return TextAreaField(spec.label, render_kw={**render, "rows": 4}, **kw)
    if spec.kind == "datetime":
        # The schema's help speaks of files (an offset to write); here the offset is implied.
        kw["description"] = str(_l("Date et heure de l'activité, heure locale (%(tz)s).", tz=timezone))
    widget = {"integer": NumberInput(), "number": NumberInput(), "date": DateInput(),
              "datetime": DateTimeLocalInput()}.get(spec.kind)
    if spec.kind in ("integer", "number"):
        render["inputmode"] = "numeric" if spec.kind == "integer" else "decimal"
    if widget is not None:
        return StringField(spec.label, widget=widget, render_kw=render, **kw)
    return StringField(spec.label, render_kw=render, **kw)


#: An entry list longer than this gets a filter box (« À propos de l'entrée » after a year of entries).
LONG_LIST = 12
#: Roles shown the Markdown syntax under an entry's text (the team writes Markdown; learners, companies don't).
MARKDOWN_WRITERS = ("tutor", "admin")


def entry_form_class(
    entry_type: str,
    *,
    framework: Framework | None,
    choose_visibility: bool,
    references: dict[str, Sequence[tuple[str, str]]] | None = None,
    existing_attachments: Sequence[str] = (),
    timezone: str = "Europe/Paris",
    markdown_hint: bool = True,
    omit: Iterable[str] = (),
) -> type[EntryForm]:
    """A form class for one entry type and one learner (their framework, their entries).

    ``references`` gives, per entry-reference field (``about``, ``updates``),
    the (id, label) choices; ``existing_attachments`` offers to keep the
    files of the entry being corrected; ``omit``: fields that do not apply to
    this learner (a planned meeting's « avec le tuteur entreprise » without one).
    """
    model = schema.ENTRY_MODELS[entry_type]
    omit = set(omit)
    specs = [s for s in field_specs(model) if (s.name != "visibility" or choose_visibility) and s.name not in omit]
    attrs: dict[str, Any] = {
        "entry_type": entry_type,
        "specs": specs,
        "timezone": timezone,
        "model": model,
    }
    for spec in specs:
        attrs[spec.name] = _wtforms_field(spec, (references or {}).get(spec.name, ()), timezone)
    comp_info = model.model_fields["competencies"]
    grid = ObservationGridField if "not_observed" in model.model_fields else CompetencyField
    attrs["competencies"] = grid(comp_info.title, framework=framework, levels=model.levels)
    # the Markdown syntax only for those who write it (the team); others get plain words
    attrs["body"] = TextAreaField(_l("Texte"), description=_l(
        "Mise en forme Markdown : **gras**, *italique*, listes avec « - », liens [texte](adresse).")
        if markdown_hint else _l("Texte libre ; laissez une ligne vide entre deux paragraphes."),
        render_kw={"rows": 10})
    att_info = model.model_fields["attachments"]
    attrs["attachments"] = MultipleFileField(att_info.title, render_kw={"accept": ACCEPT})
    if existing_attachments:
        attrs["keep_attachments"] = MultiCheckboxField(
            _l("Pièces jointes à conserver"),
            choices=options((p, p.removeprefix("files/")) for p in existing_attachments))
    return type(f"{model.__name__}Form", (EntryForm,), attrs)


def initial_data(specs: Sequence[FieldSpec], *, now: dt.datetime, tz: str, entry=None) -> dict[str, Any]:
    """Initial values: the entry being corrected, or the defaults (date: now, in the organisation's timezone)."""
    if entry is None:
        data: dict[str, Any] = {s.name: s.default for s in specs if s.default is not None}
        for s in specs:
            if s.kind == "datetime":
                data[s.name] = now.strftime(LOCAL_FORMAT)
        return data
    meta = entry.meta
    data = {s.name: to_text(s, getattr(meta, s.name, None), tz) for s in specs}
    data["competencies"] = [{"code": c.code, "level": c.level} for c in meta.competencies]
    data["competencies"] += [{"code": code, "level": NOT_SEEN} for code in getattr(meta, "not_observed", None) or []]
    data["body"] = entry.body
    data["keep_attachments"] = list(meta.attachments)
    return data
