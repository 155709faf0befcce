"""The JSON API's description (OpenAPI 3.1), generated from the one schema.

Nothing about an entry is written here by hand: each entry type's request
body is its pydantic model's *validation* schema without the keys the
server sets (``id``, ``recorded``, ``author``, ``role``) plus ``body``; its
response is the model's *serialization* schema with those keys marked
``readOnly``.  Profiles, competency views and the envelopes below come from
their own models too.  A change to :mod:`livret.store.schema` changes the API's
description with it.

:func:`wire_errors` holds requests to the description's JSON types and
formats: the store reads hand-written YAML leniently (``level: 3`` for
``"3"``), but an API client must send what the description says, so that
the description stays true in both directions.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from re import _parser as re_parser  # the regex parser: a pattern's length bounds
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from ..store.errors import FieldError
from ..store.schema import ENTRY_MODELS, MAX_BODY, SERVER_KEYS, AttachmentPath, LearnerProfile, TrainingSession
from ..views.progress import CompetencyView

API_PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
PROBLEM_TYPE = "application/problem+json"


# --------------------------------------------------------------------------
# Envelopes (response bodies that are not store documents)
# --------------------------------------------------------------------------


class ProblemItem(BaseModel):
    field: str = Field(description="Champ en cause, ex. competencies[0].level")
    pointer: str = Field(description="JSON Pointer (RFC 6901) du champ dans la requête")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details, with one item per invalid field."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemItem] = Field(default_factory=list)


class LearnerSummary(BaseModel):
    id: str
    name: str
    programme: str
    framework: str
    status: str
    acquired: int = Field(description="Compétences acquises (vue de l'appelant)")
    total: int


class LearnerList(BaseModel):
    learners: list[LearnerSummary]


class ProgressCount(BaseModel):
    acquired: int
    total: int
    percent: int


class LearnerDetail(BaseModel):
    profile: LearnerProfile
    audience: Literal["staff", "shared"] = Field(description="Vue dont sont tirées les données")
    progress: ProgressCount
    competencies: list[CompetencyView]


class Upload(BaseModel):
    path: AttachmentPath = Field(description="À citer dans « attachments » d'une entrée")
    size: int


class SessionItem(BaseModel):
    chain: str = Field(description="Identifiant de la séance (celui de son premier fichier), à citer partout")
    cancelled: bool
    versions: int = Field(description="Fichiers de la séance : 1, plus un par modification")
    session: TrainingSession = Field(description="La séance telle qu'en vigueur")


class SessionList(BaseModel):
    sessions: list[SessionItem]


ENVELOPES: tuple[type[BaseModel], ...] = (Problem, LearnerList, LearnerDetail, Upload, SessionItem, SessionList)
#: Keys of a session the server sets or that only a change carries: never in a create request.
SESSION_SERVER_KEYS = ("id", "recorded", "author", "author_name", "half_day", "status", "updates", "reason")


# --------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------


def _entry_variants(components: dict[str, Any]) -> None:
    """Rename pydantic's ``X-Input``/``X-Output`` entry schemas to ``XCreate``/``X``."""
    body_in = {"type": "string", "maxLength": MAX_BODY, "title": "Texte (Markdown)",
               "description": "Le texte de l'entrée, sous l'en-tête dans le fichier"}
    create_refs, entry_refs = {}, {}
    for entry_type, model in ENTRY_MODELS.items():
        name = model.__name__
        # pydantic names the two schemas X-Input / X-Output when they differ, X when they do not.
        shared = components.pop(name, None)
        create = components.pop(f"{name}-Input", None) or copy.deepcopy(shared)
        if model.direct:  # a signature is never posted: the signing service writes it (livret.signoff)
            for key in SERVER_KEYS:
                create["properties"].pop(key, None)
                if key in create["required"]:
                    create["required"].remove(key)
            create["properties"]["body"] = body_in
            create["title"] = f"{name}Create"
            create["description"] = f"Nouvelle entrée « {model.label} » : les clés de l'en-tête et le texte"
            components[f"{name}Create"] = create
            create_refs[entry_type] = REF.format(model=f"{name}Create")

        entry = components.pop(f"{name}-Output", None) or shared
        for key in SERVER_KEYS:
            entry["properties"][key]["readOnly"] = True
        entry["properties"]["body"] = {"type": "string", "title": "Texte (Markdown)"}
        entry["required"].append("body")
        entry["description"] = f"Entrée « {model.label} » telle qu'enregistrée"
        components[name] = entry
        entry_refs[entry_type] = REF.format(model=name)
    for union, refs in (("EntryCreate", create_refs), ("Entry", entry_refs)):
        components[union] = {
            "oneOf": [{"$ref": r} for r in refs.values()],
            "discriminator": {"propertyName": "type", "mapping": refs},
        }
    components["EntryList"] = {
        "type": "object", "required": ["entries"], "additionalProperties": False,
        "properties": {"entries": {"type": "array", "items": {"$ref": REF.format(model="Entry")}}},
    }


def _pattern_lengths(pattern: str) -> tuple[int, int | None] | None:
    """Shortest and longest (None: unbounded) text an anchored pattern matches (``^A[A-Z]{0,63}$`` -> 1, 64)."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return None
    low, high = re_parser.parse(pattern).getwidth()
    return low, (high if high < re_parser.MAXREPEAT else None)


class _WireSchema(GenerateJsonSchema):
    """JSON schemas of what travels on the wire, every constraint the server enforces included.

    - A type such as ``Code`` (a text converted, then checked against a
      pattern) is a *chain* of validators; pydantic describes a chain by its
      first step in validation mode, which drops the pattern a later step
      enforces.  On the wire the value must already be a text
      (:func:`wire_errors` refuses a number), so the steps' constraints are
      merged when they describe the same type (else the last step is used).
    - A pattern's implied length is declared too (``minLength``/``maxLength``):
      clients and test generators read lengths more readily than patterns.
    """

    def chain_schema(self, schema: core_schema.ChainSchema) -> JsonSchemaValue:
        steps = [self.generate_inner(step) for step in schema["steps"]]
        if len({step.get("type") for step in steps}) == 1:
            merged: JsonSchemaValue = {}
            for step in steps:
                merged.update(step)
            return merged
        return steps[-1]

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        out = super().str_schema(schema)
        lengths = _pattern_lengths(out["pattern"]) if "pattern" in out else None
        if lengths is not None:
            out["minLength"] = max(out.get("minLength", 0), lengths[0])
            if lengths[1] is not None:
                out["maxLength"] = min(out.get("maxLength", lengths[1]), lengths[1])
        return out


@functools.lru_cache(maxsize=1)
def _components() -> dict[str, Any]:
    pairs = [(m, mode) for m in ENTRY_MODELS.values() for mode in ("validation", "serialization")]
    pairs += [(m, "serialization") for m in ENVELOPES] + [(TrainingSession, "validation")]
    _, top = models_json_schema(pairs, ref_template=REF, schema_generator=_WireSchema)
    components = top["$defs"]
    _entry_variants(components)
    _session_create(components)
    return components


def _session_create(components: dict[str, Any]) -> None:
    """``SessionCreate``: a session's keys without the server's, plus the learners convened one by one."""
    create = copy.deepcopy(components.get("TrainingSession-Input") or components["TrainingSession"])
    for key in SESSION_SERVER_KEYS:
        create["properties"].pop(key, None)
        if key in create.get("required", []):
            create["required"].remove(key)
    create["properties"]["learners"] = {
        "type": "array", "title": "Apprenant·es convoqué·es une à une", "maxItems": 500,
        "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$", "minLength": 1, "maxLength": 64}}
    create["title"] = "SessionCreate"
    create["description"] = ("Nouvelle séance : une demi-journée, ou deux quand elle passe la pause méridienne "
                             "(le serveur découpe) ; pour un groupe ou des apprenant·es convoqué·es")
    components["SessionCreate"] = create


def components() -> dict[str, Any]:
    return copy.deepcopy(_components())


# --------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=schema)}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}}}


_LEARNER_ID = {
    "name": "learner_id", "in": "path", "required": True,
    "description": "Identifiant de l'apprenant·e (nom de son dossier)",
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
}
_COMMON = {"401": _problem("Jeton absent, invalide ou révoqué")}
_ID = "^[a-z0-9][a-z0-9-]{0,63}$"


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}

_LEARNER_ERRORS = {
    **_COMMON,
    "403": _problem("Apprenant·e hors du périmètre du jeton"),
    "404": _problem("Apprenant·e inconnu·e"),
    "409": _problem("Profil ou référentiel invalide dans le dépôt (voir livret check)"),
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description served at ``/api/v1/openapi.json``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "livret — API JSON",
            "version": "1",
            "description": "Lire les apprenant·es, leurs entrées et leur progression ; créer des entrées "
                           "et déposer des pièces jointes. Mêmes règles d'accès que les formulaires. "
                           "Jeton personnel : `livret token create USER`, puis "
                           "`Authorization: Bearer <jeton>`. Erreurs : RFC 9457.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            f"{API_PREFIX}/openapi.json": {"get": {
                "operationId": "getOpenapi", "summary": "Cette description", "security": [],
                "responses": {"200": {"description": "Description OpenAPI 3.1",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
            f"{API_PREFIX}/learners": {"get": {
                "operationId": "listLearners", "summary": "Apprenant·es que l'appelant peut voir",
                "responses": {"200": {"description": "Liste", "content": _json("LearnerList")}, **_COMMON},
            }},
            f"{API_PREFIX}/learners/{{learner_id}}": {"get": {
                "operationId": "getLearner", "summary": "Profil et progression dérivée",
                "parameters": [_LEARNER_ID],
                "responses": {"200": {"description": "Profil, progression, compétences",
                                      "content": _json("LearnerDetail")}, **_LEARNER_ERRORS},
            }},
            f"{API_PREFIX}/learners/{{learner_id}}/entries": {
                "get": {
                    "operationId": "listEntries",
                    "summary": "Entrées visibles par l'appelant (les entrées « staff » seulement pour l'équipe)",
                    "parameters": [_LEARNER_ID],
                    "responses": {"200": {"description": "Entrées, par date", "content": _json("EntryList")},
                                  **_LEARNER_ERRORS},
                },
                "post": {
                    "operationId": "createEntry",
                    "summary": "Créer une entrée (le serveur fixe id, recorded, author et role)",
                    "parameters": [_LEARNER_ID],
                    "requestBody": {"required": True, "content": _json("EntryCreate")},
                    "responses": {
                        "201": {"description": "Entrée enregistrée (fichier, historique git, reconstruction)",
                                "headers": {"Location": {"description": "Adresse des entrées de l'apprenant·e",
                                                         "schema": {"type": "string"}}},
                                "content": _json("Entry")},
                        "400": _problem("Corps absent, JSON illisible ou imbriqué sur plus de 32 niveaux"),
                        **_LEARNER_ERRORS,
                        "403": _problem("Apprenant·e hors du périmètre, ou type d'entrée non permis à ce rôle"),
                        "413": _problem("Requête trop volumineuse"),
                        "415": _problem("Corps non JSON"),
                        "422": _problem("Entrée invalide : une erreur par champ"),
                        "503": _problem("Dépôt momentanément indisponible (écriture impossible)"),
                    },
                },
            },
            f"{API_PREFIX}/sessions": {
                "get": {
                    "operationId": "listSessions",
                    "summary": "Séances en vigueur (équipe : tuteurs, administrateurs, auditeurs)",
                    "parameters": [_query("from", "Du (AAAA-MM-JJ)", {"type": "string", "format": "date"}),
                                   _query("to", "Au (AAAA-MM-JJ)", {"type": "string", "format": "date"}),
                                   _query("group", "Groupe", {"type": "string", "pattern": _ID}),
                                   _query("trainer", "Formateur·rice (compte)",
                                          {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"})],
                    "responses": {"200": {"description": "Séances, par date", "content": _json("SessionList")},
                                  **_COMMON, "403": _problem("Rôle hors de l'équipe"),
                                  "422": _problem("Paramètre invalide")},
                },
                "post": {
                    "operationId": "createSession",
                    "summary": "Planifier une séance (découpée en demi-journées ; le serveur fixe id, recorded, "
                               "author, half_day)",
                    "requestBody": {"required": True, "content": _json("SessionCreate")},
                    "responses": {
                        "201": {"description": "Les séances enregistrées, en un seul commit",
                                "content": _json("SessionList")},
                        "400": _problem("Corps absent, JSON illisible ou imbriqué sur plus de 32 niveaux"),
                        **_COMMON,
                        "403": _problem("Rôle qui ne planifie pas, ou groupe / apprenant·es hors de son suivi"),
                        "413": _problem("Requête trop volumineuse"),
                        "415": _problem("Corps non JSON"),
                        "422": _problem("Séance invalide : une erreur par champ"),
                        "503": _problem("Dépôt momentanément indisponible (écriture impossible)"),
                    },
                },
            },
            f"{API_PREFIX}/learners/{{learner_id}}/files": {"post": {
                "operationId": "uploadFile",
                "summary": "Déposer une pièce jointe, à citer ensuite dans « attachments »",
                "parameters": [_LEARNER_ID],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }}}},
                "responses": {
                    "201": {"description": "Fichier enregistré", "content": _json("Upload")},
                    "400": _problem("Fichier absent"),
                    **_LEARNER_ERRORS,
                    "403": _problem("Apprenant·e hors du périmètre, ou rôle qui ne dépose pas de fichiers"),
                    "413": _problem("Fichier trop volumineux"),
                    "415": _problem("Corps non multipart/form-data"),
                    "422": _problem("Fichier refusé (type, taille, nom)"),
                    "503": _problem("Dépôt momentanément indisponible (écriture impossible)"),
                },
            }},
        },
        "components": {
            "schemas": components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "Jeton personnel livret (livret_…)"}},
        },
    }


# --------------------------------------------------------------------------
# Holding requests to the description's types
# --------------------------------------------------------------------------

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TYPE_MESSAGES = {
    "string": "texte attendu", "integer": "nombre entier attendu", "number": "nombre attendu",
    "boolean": "true ou false attendu", "array": "liste attendue", "object": "dictionnaire de clés attendu",
    "null": "valeur nulle attendue",
}


def _is(value: Any, json_type: str) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if json_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "array":
        return isinstance(value, list)
    if json_type == "object":
        return isinstance(value, dict)
    return value is None


def _format_ok(value: str, fmt: str | None) -> bool:
    if fmt == "date-time":
        if not _DATE_TIME.match(value):
            return False
        try:
            dt.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            return False
    elif fmt == "date":
        if not _DATE.match(value):
            return False
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
    return True


def _check(value: Any, schema: dict[str, Any], loc: tuple, comps: dict[str, Any]) -> list[FieldError]:
    if "$ref" in schema:
        schema = comps[schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        branches = [_check(value, s, loc, comps) for s in schema["anyOf"]]
        return [] if any(not b for b in branches) else branches[0]
    json_type = schema.get("type")
    if json_type and not _is(value, json_type):
        return [FieldError(loc, _TYPE_MESSAGES.get(json_type, "type inattendu"))]
    if json_type == "string" and not _format_ok(value, schema.get("format")):
        example = "2026-03-02T14:00:00+01:00" if schema["format"] == "date-time" else "2026-03-02"
        return [FieldError(loc, f"format {schema['format']} attendu, ex. {example}")]
    errors: list[FieldError] = []
    if json_type == "array" and "items" in schema:
        for i, item in enumerate(value):
            errors += _check(item, schema["items"], loc + (i,), comps)
    if json_type == "object":
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors += _check(value[key], sub, loc + (key,), comps)
    return errors


def session_wire_errors(data: dict[str, Any]) -> list[FieldError]:
    """Type, format and unknown-key errors of a create-session request against the description."""
    schema = _components()["SessionCreate"]
    unknown = [FieldError((k,), "clé inconnue" if k not in SESSION_SERVER_KEYS else "défini par le serveur : "
                          "ne pas le fournir") for k in data if k not in schema["properties"]]
    return unknown + _check(data, schema, (), _components())


def wire_errors(data: dict[str, Any]) -> list[FieldError]:
    """Type and format errors of a create-entry request against the description.

    Constraints (patterns, lengths, enums, required keys, unknown keys) are
    the pydantic model's, checked by the store: only what pydantic would
    quietly convert (a number for a text, a text for a number, a date
    written another way) is caught here.  An unknown ``type`` is left to the
    store, which names it.
    """
    model = ENTRY_MODELS.get(data.get("type")) if isinstance(data.get("type"), str) else None
    if model is None or not model.direct:
        return []
    comps = _components()
    return _check(data, comps[f"{model.__name__}Create"], (), comps)
