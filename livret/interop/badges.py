"""Open Badges 3.0: one ``OpenBadgeCredential`` per acquired competency.

The documents are *unsigned* credentials (no ``proof``): an organisation
that wants verifiable badges signs them with its own key and tooling; the
content is what matters here and it follows the specification (VC Data
Model 2.0 context, ``validFrom``, an ``Achievement`` aligned to the
framework competency, ``Evidence`` citing the entries).

Only the shared view counts: a competency is acquired, and an entry may be
cited, only if it is visible to the learner and the company.  ``staff``
entries never appear.

Identifiers are ``urn:uuid:`` values derived (UUID v5) from the organisation,
framework, competency, learner and assessment, so running the export twice
gives the same documents.  ``base_url``, when given, is the address where
``livret serve`` answers: it becomes the issuer's ``id``/``url``, and the
achievement is aligned to the competency's page of the learner's portfolio
(``<base_url>/portfolio/<learner>/competences/<page>/``, a page livret
serves, behind sign-in).  Open Badges 3.0 requires an alignment's
``targetUrl`` to be a URL: without ``base_url`` there is none to give, so
the achievement has no alignment (its ``humanCode`` still carries the code).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from typing import Any

from ..publish.site.context import COMPETENCY_DIR, competency_slugs
from ..publish.site.text import page_url
from ..store import LearnerRecord
from ..store.schema import TYPE_LABELS, Framework, Organisation
from ..views import people as pp
from ..views.progress import competency_views, for_audience, fr_date

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
SCHEMA_URL = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "livret:open-badges")
#: Where ``livret serve`` publishes a learner's portfolio (forms_app/portfolio.py).
PORTFOLIO_PREFIX = "portfolio"


def competency_page_url(base_url: str, learner_id: str, framework: Framework, code: str) -> str:
    """The address of the competency's page in the learner's served portfolio."""
    page = page_url(f"{COMPETENCY_DIR}/{competency_slugs(framework)[code]}.md", directory_urls=True)
    return f"{base_url.rstrip('/')}/{PORTFOLIO_PREFIX}/{learner_id}/{page}"


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, '/'.join(parts))}"


def issuer_profile(organisation: Organisation, base_url: str | None = None) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "id": base_url or _urn("issuer", organisation.name, organisation.nda or ""),
        "type": ["Profile"],
        "name": organisation.name,
    }
    if base_url:
        profile["url"] = base_url
    if organisation.contact and re.fullmatch(r"[^@\s]+@[^@\s]+", organisation.contact):
        profile["email"] = organisation.contact
    return profile


def _identifiers(record: LearnerRecord, salt: str) -> list[dict[str, Any]]:
    profile = record.profile
    assert profile is not None
    out: list[dict[str, Any]] = [{
        "type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": profile.name,
    }]
    if profile.email:
        digest = hashlib.sha256((profile.email.strip().lower() + salt).encode()).hexdigest()
        out.append({"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                    "identityHash": f"sha256${digest}", "salt": salt})
    return out


def badge_filename(learner_id: str, code: str) -> str:
    return f"{learner_id}-{re.sub(r'[^A-Za-z0-9._-]', '_', code)}.json"


def credentials(record: LearnerRecord, organisation: Organisation, *, base_url: str | None = None,
                people: Mapping[str, str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """``(file name, credential)`` for each competency acquired in the shared view.

    ``people``: username -> name (``_people.yml``): authors show by name and role, never by login.
    """
    names = people or {}
    profile, framework = record.profile, record.framework
    if profile is None or framework is None:
        return []
    base_url = base_url.rstrip("/") if base_url else None
    entries = for_audience(record.entries, "shared")
    by_id = {e.id: e for e in entries}
    issuer = issuer_profile(organisation, base_url)
    out = []
    for view in competency_views(framework, entries):
        if not view.acquired or view.assessed is None:
            continue
        assessment = by_id[view.assessed.entry_id]
        level_label = framework.scale.label(view.assessed.level)
        credential_id = _urn("credential", framework.id, view.code, record.id, assessment.id)
        cited = [assessment] + [by_id[i] for i in view.evidence if i in by_id]
        document = {
            "@context": list(CONTEXT),
            "id": credential_id,
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": view.title,
            "description": f"Compétence « {view.title} » ({view.code}) du référentiel "
                           f"« {framework.title} », acquise par {profile.name}.",
            "issuer": issuer,
            "validFrom": view.assessed.date.isoformat(),
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "identifier": _identifiers(record, credential_id.rsplit(":", 1)[-1][:16]),
                "achievement": _achievement(framework, view.code, view.title, view.description,
                                            competency_page_url(base_url, record.id, framework, view.code)
                                            if base_url else None),
                "narrative": f"Évaluée au niveau « {level_label} » le {fr_date(view.assessed.date)} "
                             f"par {pp.author(assessment.meta, names)}, dans le cadre de la formation "
                             f"« {profile.programme} ».",
            },
            "evidence": [{
                "type": ["Evidence"],
                "name": e.meta.title,
                "genre": TYPE_LABELS[e.type],
                "narrative": f"{TYPE_LABELS[e.type]} du {fr_date(e.date)} ({pp.author(e.meta, names)}), "
                             f"entrée {e.id} du portfolio de {profile.name}.",
            } for e in cited],
            "credentialSchema": [{"id": SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}],
        }
        out.append((badge_filename(record.id, view.code), document))
    return out


def _achievement(framework: Framework, code: str, title: str, description: str | None,
                 page: str | None) -> dict[str, Any]:
    """The Achievement; aligned to the competency's ``page`` when there is one (``targetUrl`` is required)."""
    acquired = framework.scale.label(framework.scale.acquired)
    achievement: dict[str, Any] = {
        "id": _urn("achievement", framework.id, code),
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": title,
        "description": description or f"Compétence {code} du référentiel « {framework.title} ».",
        "humanCode": code,
        "criteria": {"narrative": f"Niveau « {acquired} » ou supérieur sur l'échelle du référentiel "
                                  f"« {framework.title} », constaté lors d'une évaluation par le tuteur "
                                  "ou la tutrice de l'organisme."},
    }
    if page is not None:
        alignment: dict[str, Any] = {
            "type": ["Alignment"],
            "targetName": title,
            "targetCode": code,
            "targetFramework": framework.title,
            "targetType": "ceasn:Competency",
            "targetUrl": page,
        }
        if description:
            alignment["targetDescription"] = description
        achievement["alignment"] = [alignment]
    return achievement
