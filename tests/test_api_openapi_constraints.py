"""The OpenAPI description declares the constraints the server enforces on text (pattern, length).

A competency code is checked by the store against a pattern (64 characters at
most); the description must say so, or a client and a test generator cannot
know a request will be refused.  The check is by comparison with the models
the server validates with, not with a copy of the rules.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from livret.interop.openapi import openapi_document
from livret.store.schema import CODE_RE, ENTRY_MODELS, CompetencyRating

DOC = openapi_document()
SCHEMAS = DOC["components"]["schemas"]


def resolve(schema: dict) -> dict:
    return SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema


def code_schema(model) -> dict:
    """What a create request's ``competencies[].code`` is declared to be."""
    return resolve(SCHEMAS[f"{model.__name__}Create"]["properties"]["competencies"]["items"])["properties"]["code"]


CODE = code_schema(ENTRY_MODELS["meeting"])
RATING = TypeAdapter(CompetencyRating)


def test_competency_code_pattern_and_length_are_declared():
    assert CODE["type"] == "string"
    assert CODE.get("pattern") == CODE_RE.pattern
    assert (CODE.get("minLength"), CODE.get("maxLength")) == (1, 64)
    # (a signature is never posted: it has no create schema, see livret.signoff)
    assert all(code_schema(model) == CODE for model in ENTRY_MODELS.values() if model.direct)


def accepted(code: str) -> bool:
    try:
        RATING.validate_python({"code": code})
    except ValidationError:
        return False
    return True


def declared(code: str) -> bool:
    """JSON Schema's reading of the declaration (ECMA-262: ``$`` is the end of the text, even after a newline)."""
    body = CODE.get("pattern", ".*").removeprefix("^").removesuffix("$")
    return (CODE.get("minLength", 0) <= len(code) <= CODE.get("maxLength", len(code))
            and re.fullmatch(body, code, flags=re.S) is not None)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.from_regex(CODE_RE.pattern, fullmatch=True), st.text(max_size=80),
                 st.text(alphabet="Aa1._:/-", min_size=60, max_size=70)))
def test_the_server_accepts_exactly_the_codes_the_description_allows(code):
    assert accepted(code) == declared(code), code


@pytest.mark.parametrize("code", ["A" * 64, "A" * 65, "-A1", "A 1", "A1\n", "", "B2.1", "é1"])
def test_edge_codes(code):
    assert accepted(code) == declared(code)


def test_every_pattern_declares_its_length():
    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "string" and "pattern" in node:
                yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
    strings = list(walk(SCHEMAS))
    assert strings and all("minLength" in s and "maxLength" in s for s in strings)
