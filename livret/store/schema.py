"""The one schema: learner profiles, competency frameworks, organisation
settings and every entry type.

The checker, the store, the forms, the API (and its OpenAPI description) and
the build all use these models.  Field titles and descriptions are French:
they are what the forms show as labels and help texts.

Rules that need no context (types, required keys, allowed values, key names)
live here.  Rules that need the learner's framework or other entries live in
:mod:`livret.store.validation`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

# --------------------------------------------------------------------------
# Identifiers and small types
# --------------------------------------------------------------------------

LEARNER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ENTRY_ID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
FRAMEWORK_ID_RE = LEARNER_ID_RE
GROUP_ID_RE = LEARNER_ID_RE

LearnerId = Annotated[str, StringConstraints(pattern=LEARNER_ID_RE.pattern)]
Username = Annotated[str, StringConstraints(pattern=USERNAME_RE.pattern)]
EntryId = Annotated[str, StringConstraints(pattern=ENTRY_ID_RE.pattern)]
FrameworkId = Annotated[str, StringConstraints(pattern=FRAMEWORK_ID_RE.pattern)]
GroupId = Annotated[str, StringConstraints(pattern=GROUP_ID_RE.pattern)]


def _to_str(value: Any) -> Any:
    """Scale values may be written as numbers in YAML (``level: 3``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return value


Code = Annotated[str, BeforeValidator(_to_str), StringConstraints(pattern=CODE_RE.pattern)]
Level = Annotated[str, BeforeValidator(_to_str), StringConstraints(min_length=1, max_length=40)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
AttachmentPath = Annotated[
    str, StringConstraints(pattern=r"^files/[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
]

Role = Literal["learner", "tutor", "company", "auditor", "admin"]
Visibility = Literal["shared", "staff"]
Audience = Literal["staff", "shared"]

ROLE_LABELS: dict[str, str] = {
    "learner": "Apprenant·e",
    "tutor": "Tuteur·rice",
    "company": "Tuteur·rice entreprise",
    "auditor": "Auditeur·rice",
    "admin": "Administrateur·rice",
}
VISIBILITY_LABELS = {
    "shared": "Partagée (apprenant·e, entreprise, auditeur·rices)",
    "staff": "Équipe seulement (tuteur·rices et administrateur·rices)",
}
MEETING_KINDS = {
    "accueil": "Accueil",
    "suivi": "Suivi",
    "bilan-intermediaire": "Bilan intermédiaire",
    "bilan-final": "Bilan final",
    "visite-entreprise": "Visite en entreprise",
    "entretien-tripartite": "Entretien tripartite",
}
MODALITIES = {
    "presentiel": "Présentiel",
    "distance-synchrone": "À distance, synchrone",
    "distance-asynchrone": "À distance, asynchrone",
}
PLAN_STATUSES = {"open": "En cours", "done": "Réalisé", "dropped": "Abandonné"}
ALERT_STATUSES = {"open": "Ouverte", "closed": "Close"}
ALERT_CATEGORIES = {
    "pedagogique": "Pédagogique",
    "organisationnelle": "Organisationnelle",
    "sante": "Santé",
    "personnelle": "Personnelle",
    "financiere": "Financière",
}
SEVERITIES = {"faible": "Faible", "moyenne": "Moyenne", "haute": "Haute"}
PROGRAMME_MODALITIES = {
    "presentiel": "Présentiel",
    "distance": "À distance",
    "hybride": "Hybride",
}
LEARNER_STATUSES = {"en-cours": "En cours", "termine": "Terminé", "abandon": "Abandon"}
CONTRACTS = {
    "apprentissage": "Contrat d'apprentissage",
    "professionnalisation": "Contrat de professionnalisation",
    "stage": "Stage",
    "aucun": "Aucun contrat",
}

HALF_DAYS = {"matin": "Matin", "apres-midi": "Après-midi"}
SESSION_MODALITIES = {"presentiel": "Présentiel", "distance-synchrone": "À distance, synchrone"}
SESSION_STATUSES = {"planned": "Prévue", "cancelled": "Annulée"}
#: What the trainer marks about a learner at a session (docs/attendance.md).
MARK_STATUSES = {
    "absent": "Absent·e",
    "justified": "Absence justifiée",
    "late": "En retard",
    "left-early": "Parti·e avant la fin",
}
#: The nature of the action, from the fixed list of the certificat de réalisation (arrêté du 21 décembre 2018).
ACTION_NATURES = {
    "action-de-formation": "Action de formation",
    "bilan-de-competences": "Bilan de compétences",
    "vae": "Action de VAE",
    "apprentissage": "Action de formation par apprentissage",
}
SIGNED_AS = {"drawing": "signature dessinée", "typed-name": "nom saisi, session authentifiée"}

MeetingKind = Literal["accueil", "suivi", "bilan-intermediaire", "bilan-final", "visite-entreprise",
                      "entretien-tripartite"]
Modality = Literal["presentiel", "distance-synchrone", "distance-asynchrone"]
PlanStatus = Literal["open", "done", "dropped"]
AlertStatus = Literal["open", "closed"]
AlertCategory = Literal["pedagogique", "organisationnelle", "sante", "personnelle", "financiere"]
Severity = Literal["faible", "moyenne", "haute"]
HalfDay = Literal["matin", "apres-midi"]
SessionModality = Literal["presentiel", "distance-synchrone"]
MarkStatus = Literal["absent", "justified", "late", "left-early"]
ActionNature = Literal["action-de-formation", "bilan-de-competences", "vae", "apprentissage"]
SignedAs = Literal["drawing", "typed-name"]


def _clock_from_yaml(value: Any) -> Any:
    """YAML 1.1 reads an unquoted ``13:30`` as the sexagesimal number 810: read it back as ``13:30``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


#: A time of day, ``HH:MM`` (24 h), in the organisation's time zone.
ClockTime = Annotated[str, BeforeValidator(_clock_from_yaml),
                      StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class FieldValueError(ValueError):
    """A rule broken by a model as a whole, attached to the field a person must change.

    Raised by model validators; :func:`livret.store.errors.from_validation_error`
    puts the error on ``field`` so that a form shows it next to that field.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.loc = (field,)


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a hand-edited file must not pass."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------
# Competency framework (référentiel)
# --------------------------------------------------------------------------


class ScaleValue(Strict):
    value: Level = Field(title="Valeur")
    label: ShortText = Field(title="Libellé")


class Scale(Strict):
    values: list[ScaleValue] = Field(min_length=2, title="Niveaux, du plus bas au plus haut")
    acquired: Level = Field(title="Niveau à partir duquel la compétence est acquise")

    @model_validator(mode="after")
    def _consistent(self) -> "Scale":
        seen = [v.value for v in self.values]
        if len(set(seen)) != len(seen):
            raise FieldValueError("values", "valeurs de l'échelle en double")
        if self.acquired not in seen:
            raise FieldValueError("acquired", f"« {self.acquired} » n'est pas une valeur de l'échelle")
        return self

    def rank(self, level: str | None) -> int | None:
        for i, v in enumerate(self.values):
            if v.value == level:
                return i
        return None

    def label(self, level: str | None) -> str:
        for v in self.values:
            if v.value == level:
                return v.label
        return "—" if level is None else str(level)

    def is_acquired(self, level: str | None) -> bool:
        rank = self.rank(level)
        return rank is not None and rank >= (self.rank(self.acquired) or 0)


class Competency(Strict):
    code: Code = Field(title="Code")
    title: ShortText = Field(title="Intitulé")
    description: str | None = Field(None, max_length=5000, title="Description")
    parent: Code | None = Field(None, title="Compétence parente (code)")


class Block(Strict):
    code: Code = Field(title="Code")
    title: ShortText = Field(title="Intitulé")
    description: str | None = Field(None, max_length=5000)
    competencies: list[Competency] = Field(min_length=1)


class Framework(Strict):
    id: FrameworkId
    title: ShortText
    version: str | None = None
    source: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=5000)
    scale: Scale
    blocks: list[Block] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> "Framework":
        codes: set[str] = set()
        for block in self.blocks:
            for c in block.competencies:
                if c.code in codes:
                    raise ValueError(f"code de compétence en double : {c.code}")
                codes.add(c.code)
        block_codes = [b.code for b in self.blocks]
        if len(set(block_codes)) != len(block_codes):
            raise ValueError("code de bloc en double")
        for block in self.blocks:
            for c in block.competencies:
                if c.parent is not None and c.parent not in codes:
                    raise ValueError(f"{c.code} : compétence parente inconnue {c.parent}")
        return self

    def competencies(self) -> list[tuple[Block, Competency]]:
        return [(b, c) for b in self.blocks for c in b.competencies]

    def competency(self, code: str) -> Competency | None:
        for _, c in self.competencies():
            if c.code == code:
                return c
        return None

    def block_of(self, code: str) -> Block | None:
        for b, c in self.competencies():
            if c.code == code:
                return b
        return None


# --------------------------------------------------------------------------
# Organisation settings (portfolios/_organisation.yml)
# --------------------------------------------------------------------------


class Thresholds(Strict):
    no_contact_days: int = Field(30, ge=1, le=365, title="Alerte sans contact après (jours)")
    attendance_min: float = Field(0.8, ge=0, le=1, title="Taux d'assiduité minimal")
    alert_followup_days: int = Field(7, ge=1, le=365, title="Suite à donner à une alerte sous (jours)")
    positioning_days: int = Field(30, ge=1, le=365, title="Positionnement attendu sous (jours)")


class ShareSettings(Strict):
    default_days: int = Field(30, ge=1, le=3650)
    max_days: int = Field(180, ge=1, le=3650)

    @model_validator(mode="after")
    def _order(self) -> "ShareSettings":
        if self.default_days > self.max_days:
            raise FieldValueError("default_days", "default_days dépasse max_days")
        return self


class UploadSettings(Strict):
    max_mb: float = Field(10, gt=0, le=200)


class DateSettings(Strict):
    """Where an entry's dates may fall, around the learner's programme (see livret.store.validation).

    Positioning and welcome often come before the start; an assessment or a
    company's feedback may come after the planned end.
    """

    before_start_days: int = Field(180, ge=0, le=3650,
                                   title="Entrées datées au plus tôt (jours avant le début de la formation)")
    after_end_days: int = Field(365, ge=0, le=3650,
                                title="Entrées datées au plus tard (jours après la fin prévue de la formation)")


class SealSettings(Strict):
    """Witnesses of the journal out of an insider's reach (docs/audit.md); both optional.

    No secret here: the witness repository's credentials are git's own
    (an SSH key or a credential helper of the account that runs livret).
    """

    witness_remote: str | None = Field(None, max_length=500, title="Dépôt témoin (adresse git)")
    tsa_url: str | None = Field(None, max_length=500, pattern=r"^https?://\S+$",
                                title="Autorité d'horodatage (adresse RFC 3161)")
    tsa_ca: str | None = Field(None, max_length=500,
                               title="Certificat racine de l'autorité d'horodatage (fichier PEM, chemin "
                                     "relatif au projet)")

    @model_validator(mode="after")
    def _tsa(self) -> "SealSettings":
        if bool(self.tsa_url) != bool(self.tsa_ca):
            raise FieldValueError("tsa_ca" if self.tsa_url else "tsa_url",
                                  "tsa_url et tsa_ca vont ensemble : l'adresse de l'autorité et son certificat racine")
        return self


class SecuritySettings(Strict):
    """Account security (docs/admin.md, « Comptes »)."""

    #: Admins and every role that reads staff entries (tutors, auditors) must turn on the second
    #: factor (TOTP) before anything else.
    require_totp: bool = Field(False, title="Second facteur obligatoire pour les administrateurs et les rôles "
                                            "qui lisent les entrées réservées à l'équipe")


EmailAddress = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")]


class MailSettings(Strict):
    """Who the organisation's mails come from (docs/mail.md); the SMTP server is set by the environment."""

    sender: EmailAddress | None = Field(None, title="Adresse d'expédition (From)")
    #: Defaults to the organisation's name.
    sender_name: str | None = Field(None, max_length=100, title="Nom d'expéditeur")
    reply_to: EmailAddress | None = Field(None, title="Adresse de réponse (Reply-To)")


#: Who may be asked to sign off an entry (the tutor countersigns attendance, a later issue).
SIGNER_ROLES = {"learner": "Apprenant·e", "company": "Tuteur·rice entreprise", "tutor": "Tuteur·rice"}
SignerRole = Literal["learner", "company", "tutor"]


class SignoffRule(Strict):
    """Entries of ``type`` (and of meeting ``kind`` when given) wait for the signature of each role in ``by``."""

    type: str = Field(title="Type d'entrée")
    kind: MeetingKind | None = Field(None, title="Nature d'entretien (entretiens seulement)")
    by: list[SignerRole] = Field(min_length=1, title="Signé par")

    @model_validator(mode="after")
    def _known(self) -> "SignoffRule":
        if self.type not in SIGNABLE_TYPES:
            raise FieldValueError("type", f"type d'entrée à signer inconnu : {self.type!r} "
                                          f"(possibles : {', '.join(SIGNABLE_TYPES)})")
        if self.kind is not None and self.type != "meeting":
            raise FieldValueError("kind", "kind ne s'applique qu'aux entretiens (type meeting)")
        if len(set(self.by)) != len(self.by):
            raise FieldValueError("by", "un rôle est cité deux fois")
        return self


class SignoffSettings(Strict):
    """What the organisation asks to have signed off, and when a reminder goes out (once)."""

    rules: list[SignoffRule] = Field(default_factory=list, title="Entrées à faire signer")
    remind_after_days: int = Field(7, ge=1, le=365, title="Relance du signataire après (jours)")


FollowupWhat = Literal["welcome", "positioning", "company-checkin", "company-visit", "contact"]
FOLLOWUP_WHATS = {
    "welcome": "Entretien d'accueil",
    "positioning": "Positionnement initial",
    "company-checkin": "Point avec l'entreprise avant la fin de la période d'essai (apprentissage)",
    "company-visit": "Visite en entreprise périodique",
    "contact": "Contact de suivi régulier",
}
Contract = Literal["apprentissage", "professionnalisation", "stage", "aucun"]


class FollowupRule(Strict):
    """One rule of the organisation's follow-up process (docs/planning.md).

    - ``welcome``: a meeting of kind ``accueil`` within ``within_days`` of the start;
    - ``positioning``: a positioning entry within ``within_days`` of the start;
    - ``company-checkin``: a meeting with the company (``visite-entreprise`` or ``entretien-tripartite``)
      before the ``presence_days``-th day of effective presence in the company (45: the end of the
      free-break period of an apprenticeship, Code du travail L6222-18), counted from the calendar's
      company periods minus the absences;
    - ``company-visit``: a ``visite-entreprise`` meeting every ``every_months`` months;
    - ``contact``: a follow-up meeting (any kind) at least every ``every_days`` days.

    ``programmes``, ``groups`` and ``contracts`` narrow who the rule applies to (empty: everyone).
    """

    id: Annotated[str, StringConstraints(pattern=GROUP_ID_RE.pattern)] = Field(title="Identifiant")
    what: FollowupWhat = Field(title="Règle")
    label: str | None = Field(None, max_length=200, title="Libellé")
    within_days: int | None = Field(None, ge=1, le=365, title="Sous (jours)")
    presence_days: int | None = Field(None, ge=1, le=365, title="Avant le n-ième jour de présence en entreprise")
    every_months: int | None = Field(None, ge=1, le=24, title="Tous les (mois)")
    every_days: int | None = Field(None, ge=1, le=365, title="Tous les (jours)")
    programmes: list[ShortText] = Field(default_factory=list, title="Formations concernées")
    groups: list[GroupId] = Field(default_factory=list, title="Groupes concernés")
    contracts: list[Contract] = Field(default_factory=list, title="Contrats concernés")

    @model_validator(mode="after")
    def _parameters(self) -> "FollowupRule":
        needed = {"welcome": "within_days", "positioning": "within_days", "company-checkin": "presence_days",
                  "company-visit": "every_months", "contact": "every_days"}[self.what]
        if getattr(self, needed) is None:
            raise FieldValueError(needed, f"la règle « {self.what} » demande {needed}")
        extra = [k for k in ("within_days", "presence_days", "every_months", "every_days")
                 if k != needed and getattr(self, k) is not None]
        if extra:
            raise FieldValueError(extra[0], f"{extra[0]} ne s'applique pas à la règle « {self.what} »")
        return self


class FollowupSettings(Strict):
    rules: list[FollowupRule] = Field(default_factory=list, title="Règles de suivi")
    #: A follow-up overdue by this many days is escalated to the admins (one mail, once).
    escalate_after_days: int = Field(7, ge=1, le=365, title="Alerte aux administrateurs après (jours de retard)")

    @model_validator(mode="after")
    def _unique(self) -> "FollowupSettings":
        ids = [r.id for r in self.rules]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise FieldValueError("rules", f"identifiant de règle cité deux fois : {', '.join(twice)}")
        return self


class NotifySettings(Strict):
    """When the scheduled mails go out (organisation's local time)."""

    reminder_hour: int = Field(17, ge=0, le=23, title="Rappel des rendez-vous la veille, à (heure)")
    digest_weekday: int = Field(0, ge=0, le=6, title="Récapitulatif hebdomadaire le (0 = lundi)")
    digest_hour: int = Field(7, ge=0, le=23, title="Récapitulatif hebdomadaire à (heure)")


class ProgrammeNature(Strict):
    """The nature of the action (certificat de réalisation) for one programme."""

    programme: ShortText = Field(title="Formation")
    nature: ActionNature = Field(title="Nature de l'action")


class Signatory(Strict):
    """Who signs the certificats de réalisation for the organisation (its legal representative or delegate)."""

    name: ShortText = Field(title="Nom du représentant")
    title: str | None = Field(None, max_length=200, title="Qualité (ex. directrice)")
    place: str | None = Field(None, max_length=100, title="Fait à (ville)")


class AttendanceSettings(Strict):
    """Signed half-day attendance (docs/attendance.md).

    A learner signs on their own device from ``window_before_minutes`` before a
    session's start to ``window_after_minutes`` after it; on the trainer's
    device until the session ends.  A session running over the lunch break is
    split into two half-days at ``lunch_start`` / ``lunch_end``.
    """

    window_before_minutes: int = Field(15, ge=0, le=120, title="Émargement ouvert avant le début (minutes)")
    window_after_minutes: int = Field(30, ge=1, le=240, title="Émargement ouvert après le début (minutes)")
    qr_period_seconds: int = Field(30, ge=10, le=300, title="Le code QR change toutes les (secondes)")
    lunch_start: ClockTime = Field("12:30", title="Début de la pause méridienne")
    lunch_end: ClockTime = Field("13:30", title="Fin de la pause méridienne")
    remind: bool = Field(True, title="Relancer qui n'a pas émargé à la fin de la fenêtre")
    signatory: Signatory | None = Field(None, title="Signataire des certificats de réalisation")
    #: The nature of the action by programme; others: apprentissage for an apprenticeship contract,
    #: ``default_nature`` otherwise.
    natures: list[ProgrammeNature] = Field(default_factory=list, title="Nature de l'action par formation")
    default_nature: ActionNature = Field("action-de-formation", title="Nature de l'action par défaut")
    siret: str | None = Field(None, max_length=20, pattern=r"^[0-9 ]{9,20}$", title="SIRET de l'organisme")

    @model_validator(mode="after")
    def _lunch(self) -> "AttendanceSettings":
        if self.lunch_end <= self.lunch_start:
            raise FieldValueError("lunch_end", "la fin de la pause précède son début")
        return self


class AccessibilitySettings(Strict):
    """The « déclaration d'accessibilité » (RGAA 4.1) of the app and of every built site (docs/accessibility.md).

    ``state`` comes from the last audit; without one (``audit_date`` empty) the
    declaration says « non conforme (aucun audit) »: automated tools check only
    part of the RGAA criteria.
    """

    organisation: str | None = Field(None, max_length=200, title="Entité responsable (défaut : l'organisme)")
    contact: str | None = Field(None, max_length=300, title="Contact accessibilité (adresse ou page web)")
    date: dt.date | None = Field(None, title="Date de la déclaration")
    state: Literal["totalement conforme", "partiellement conforme", "non conforme"] = Field(
        "non conforme", title="État de conformité")
    audit_date: dt.date | None = Field(None, title="Date du dernier audit")
    auditor: str | None = Field(None, max_length=200, title="Audit réalisé par")
    rate: int | None = Field(None, ge=0, le=100, title="Taux de critères RGAA respectés (%)")
    non_compliant: list[str] = Field(default_factory=list, title="Non-conformités connues")
    schema_url: str | None = Field(None, max_length=300, title="Schéma pluriannuel de mise en accessibilité (lien)")


class Organisation(Strict):
    name: ShortText = "Organisme de formation"
    address: str | None = None
    nda: str | None = Field(None, description="Numéro de déclaration d'activité")
    contact: str | None = None
    timezone: str = "Europe/Paris"
    #: The organisation's public address (https://…): issuer of signed badges (did:web), links in mails.
    public_url: str | None = Field(None, max_length=300, pattern=r"^https://[^\s/]+(/\S*)?$")
    thresholds: Thresholds = Thresholds()
    share: ShareSettings = ShareSettings()
    uploads: UploadSettings = UploadSettings()
    dates: DateSettings = DateSettings()
    seal: SealSettings = SealSettings()
    security: SecuritySettings = SecuritySettings()
    mail: MailSettings = MailSettings()
    signoff: SignoffSettings = SignoffSettings()
    followup: FollowupSettings = FollowupSettings()
    notify: NotifySettings = NotifySettings()
    attendance: AttendanceSettings = AttendanceSettings()
    accessibility: AccessibilitySettings = AccessibilitySettings()


# --------------------------------------------------------------------------
# Learner profile (portfolios/<id>/learner.md)
# --------------------------------------------------------------------------


PeriodKind = Literal["centre", "entreprise", "absence"]
PERIOD_KINDS = {"centre": "En centre de formation", "entreprise": "En entreprise",
                "absence": "Absence (entreprise ou centre)"}


class CalendarPeriod(Strict):
    """A period of the work-study calendar (alternance): at the centre, in the company, or an absence.

    Days are whole days, both ends included; an absence of a half-day is
    entered as that day (it counts as a day: Code du travail L6222-18).
    """

    start: dt.date = Field(title="Du")
    end: dt.date = Field(title="Au")
    kind: PeriodKind = Field(title="Lieu")
    label: str | None = Field(None, max_length=200, title="Précision")

    @model_validator(mode="after")
    def _order(self) -> "CalendarPeriod":
        if self.end < self.start:
            raise FieldValueError("end", "la fin de la période précède son début")
        return self


def _no_overlap(periods: list[CalendarPeriod], key: str) -> None:
    """Centre and company periods never overlap (an absence may fall inside either)."""
    placed = sorted((p for p in periods if p.kind != "absence"), key=lambda p: p.start)
    for before, after in zip(placed, placed[1:]):
        if after.start <= before.end:
            raise FieldValueError(key, f"périodes qui se chevauchent : du {before.start.isoformat()} au "
                                       f"{before.end.isoformat()} et du {after.start.isoformat()} au "
                                       f"{after.end.isoformat()}")


class Company(Strict):
    name: ShortText = Field(title="Entreprise")
    city: str | None = Field(None, max_length=100, title="Ville")
    contact: str | None = Field(None, max_length=200, title="Contact")


class ContractBreak(Strict):
    """A work-study contract broken before its end (rupture): the training may go on."""

    date: dt.date = Field(title="Date de la rupture")
    reason: str | None = Field(None, max_length=500, title="Motif de la rupture")


class LearnerProfile(Strict):
    #: Never changes; new ones are short and opaque (:func:`livret.store.ids.new_learner_id`).
    id: LearnerId
    first_name: ShortText = Field(title="Prénom")
    last_name: ShortText = Field(title="Nom")
    email: str | None = Field(None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$", title="Adresse e-mail")
    programme: ShortText = Field(title="Formation")
    framework: FrameworkId = Field(title="Référentiel")
    start: dt.date = Field(title="Début")
    end: dt.date | None = Field(None, title="Fin prévue")
    modality: Literal["presentiel", "distance", "hybride"] = Field("presentiel", title="Modalité")
    work_study: bool = Field(False, title="Alternance")
    contract: Literal["apprentissage", "professionnalisation", "stage", "aucun"] | None = Field(
        None, title="Contrat")
    company: Company | None = None
    contract_break: ContractBreak | None = Field(None, title="Rupture du contrat")
    status: Literal["en-cours", "termine", "abandon"] = Field("en-cours", title="Statut")
    #: When the training ended (termine) or was abandoned (abandon), and why.
    status_date: dt.date | None = Field(None, title="Date de fin ou d'abandon")
    status_reason: str | None = Field(None, max_length=500, title="Motif")
    account: Username | None = Field(None, title="Compte de l'apprenant·e")
    tutors: list[Username] = Field(default_factory=list, title="Tuteurs")
    company_tutors: list[Username] = Field(default_factory=list, title="Tuteurs entreprise")
    #: The learner's own work-study calendar (their groups' calendars add to it).
    calendar: list[CalendarPeriod] = Field(default_factory=list, title="Calendrier de l'alternance")

    @model_validator(mode="after")
    def _dates(self) -> "LearnerProfile":
        _no_overlap(self.calendar, "calendar")
        if self.end is not None and self.end < self.start:
            raise FieldValueError("end", "la date de fin précède la date de début")
        if self.company_tutors and not self.company:
            raise FieldValueError("company", "des tuteurs entreprise sont indiqués sans entreprise (clé company)")
        if self.contract in ("apprentissage", "professionnalisation") and not self.company:
            raise FieldValueError("company", "un contrat d'alternance suppose une entreprise (clé company)")
        if self.status_date is not None and self.status_date < self.start:
            raise FieldValueError("status_date", "la date de fin ou d'abandon précède le début de la formation")
        if self.status_date is not None and self.status == "en-cours":
            raise FieldValueError("status_date", "une date de fin ou d'abandon suppose le statut terminé ou abandon")
        if self.contract_break is not None:
            if self.contract not in ("apprentissage", "professionnalisation"):
                raise FieldValueError("contract_break", "une rupture suppose un contrat d'apprentissage "
                                                        "ou de professionnalisation")
            if self.contract_break.date < self.start:
                raise FieldValueError("contract_break", "la rupture précède le début de la formation")
        if len(set(self.tutors)) != len(self.tutors):
            raise FieldValueError("tutors", "un tuteur est indiqué deux fois")
        if len(set(self.company_tutors)) != len(self.company_tutors):
            raise FieldValueError("company_tutors", "un tuteur entreprise est indiqué deux fois")
        return self

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# --------------------------------------------------------------------------
# Groups (portfolios/_groups/<id>.yml)
# --------------------------------------------------------------------------


class Group(Strict):
    """A cohort (promotion, session): a named set of learners; a learner may be in several."""

    id: GroupId
    name: ShortText = Field(title="Nom du groupe")
    programme: str | None = Field(None, max_length=200, title="Formation")
    start: dt.date | None = Field(None, title="Début")
    end: dt.date | None = Field(None, title="Fin")
    #: Planned training hours per week (pre-fills the group's attendance form).
    weekly_hours: float | None = Field(None, ge=0, le=80, title="Heures prévues par semaine")
    description: str | None = Field(None, max_length=2000, title="Description")
    members: list[LearnerId] = Field(default_factory=list, title="Apprenant·es")
    #: The group's work-study calendar (each member's own periods add to it).
    calendar: list[CalendarPeriod] = Field(default_factory=list, title="Calendrier de l'alternance")

    @model_validator(mode="after")
    def _rules(self) -> "Group":
        _no_overlap(self.calendar, "calendar")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise FieldValueError("end", "la date de fin précède la date de début")
        if len(set(self.members)) != len(self.members):
            raise FieldValueError("members", "un·e apprenant·e est indiqué·e deux fois")
        return self


# --------------------------------------------------------------------------
# Training sessions (portfolios/_sessions/<YYYY-MM>/<date>-<half-day>-<end of id>.yml)
# --------------------------------------------------------------------------


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


#: A half-day starts before this time in the morning (``matin``), at or after it in the afternoon.
AFTERNOON_FROM = "13:00"
#: The longest half-day session, in minutes.
MAX_HALF_DAY_MINUTES = 6 * 60


class TrainingSession(Strict):
    """One half-day of training (séance), for a group or for learners convened one by one.

    A session names no learner: who is expected is the group's members (those
    in training on that day) and the learners whose folder holds a
    ``convocation`` entry for it; each signature lives in the learner's own
    folder (docs/attendance.md).  Files are append-only: a change (a new time,
    another trainer, a cancellation) is a new session file with ``updates``
    naming the first one of the chain and a ``reason``.
    """

    id: EntryId = Field(title="Identifiant")
    recorded: AwareDatetime = Field(title="Enregistrée le")
    author: Username = Field(title="Auteur")
    author_name: ShortText | None = Field(None, title="Nom de l'auteur")
    date: dt.date = Field(title="Date")
    half_day: HalfDay = Field(title="Demi-journée")
    start: ClockTime = Field(title="Début")
    end: ClockTime = Field(title="Fin")
    title: ShortText = Field(title="Module ou intitulé")
    framework: FrameworkId | None = Field(None, title="Référentiel des compétences travaillées")
    competencies: list[Code] = Field(default_factory=list, title="Compétences travaillées")
    trainer: Username = Field(title="Formateur·rice (compte)")
    trainer_name: ShortText | None = Field(None, title="Nom du formateur ou de la formatrice")
    modality: SessionModality = Field("presentiel", title="Modalité")
    group: GroupId | None = Field(None, title="Groupe")
    place: str | None = Field(None, max_length=300, title="Lieu")
    video_link: str | None = Field(None, max_length=500, pattern=r"^https://\S+$", title="Lien de la classe virtuelle")
    status: Literal["planned", "cancelled"] = Field("planned", title="État")
    updates: EntryId | None = Field(None, title="Modifie la séance")
    reason: str | None = Field(None, max_length=1000, title="Motif de la modification")

    @model_validator(mode="after")
    def _times(self) -> "TrainingSession":
        start, end = _minutes(self.start), _minutes(self.end)
        if end <= start:
            raise FieldValueError("end", "la fin de la séance précède son début")
        if end - start > MAX_HALF_DAY_MINUTES:
            raise FieldValueError("end", "une demi-journée dure au plus 6 heures : découpez la séance")
        afternoon = start >= _minutes(AFTERNOON_FROM)
        if afternoon != (self.half_day == "apres-midi"):
            raise FieldValueError("half_day", "une séance du matin commence avant 13 h, une séance de "
                                              "l'après-midi à 13 h ou après")
        if len(set(self.competencies)) != len(self.competencies):
            raise FieldValueError("competencies", "une compétence est citée deux fois")
        if self.competencies and self.framework is None:
            raise FieldValueError("framework", "indiquez le référentiel des compétences travaillées")
        if self.updates is not None and not self.reason:
            raise FieldValueError("reason", "indiquez le motif de la modification")
        if self.updates is None and self.status == "cancelled":
            raise FieldValueError("status", "une séance s'annule par une modification de la séance prévue")
        if self.modality == "presentiel" and self.video_link:
            raise FieldValueError("video_link", "un lien de classe virtuelle est pour une séance à distance")
        return self

    @property
    def minutes(self) -> int:
        """The session's length in minutes."""
        return _minutes(self.end) - _minutes(self.start)

    @property
    def hours(self) -> float:
        return self.minutes / 60

    @property
    def chain(self) -> str:
        """The id of the first session of its chain (itself when it changes nothing)."""
        return self.updates or self.id


# --------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------


class CompetencyRating(Strict):
    code: Code = Field(title="Compétence")
    level: Level | None = Field(None, title="Niveau")


#: Keys the server sets; a form or an API call never provides them.
SERVER_KEYS = ("id", "recorded", "author", "author_name", "role")
#: Keys that name another entry of the same learner (see ``livret.store.visibility``).
REFERENCE_KEYS = ("about", "corrects", "updates")


class EntryBase(Strict):
    """Keys common to every entry type."""

    #: French name of the type, for people.
    label: ClassVar[str] = ""
    #: Roles that write this type (admins write every type).
    writers: ClassVar[frozenset[str]] = frozenset()
    #: Whether each competency rating must carry a level.
    levels: ClassVar[Literal["required", "optional", "none"]] = "optional"
    #: Visibility when the writer does not choose one.
    default_visibility: ClassVar[str] = "shared"
    #: Written through the generic paths (forms, API, imports); False: only by its own service
    #: (a signature is written by livret.signoff, with the seal it computes).
    direct: ClassVar[bool] = True

    id: EntryId = Field(title="Identifiant")
    type: str
    date: AwareDatetime = Field(title="Date", description="Date et heure de l'activité, avec le fuseau horaire")
    recorded: AwareDatetime = Field(title="Enregistré le")
    author: Username = Field(title="Auteur")
    #: The author's name at write time (pages show people by name; older entries: ``_people.yml``).
    author_name: ShortText | None = Field(None, title="Nom de l'auteur")
    role: Role = Field(title="Rôle de l'auteur")
    title: ShortText = Field(title="Titre")
    visibility: Visibility = Field("shared", title="Visibilité")
    competencies: list[CompetencyRating] = Field(default_factory=list, title="Compétences")
    attachments: list[AttachmentPath] = Field(default_factory=list, title="Pièces jointes")
    about: EntryId | None = Field(None, title="À propos de l'entrée")
    corrects: EntryId | None = Field(None, title="Corrige l'entrée")

    @model_validator(mode="before")
    @classmethod
    def _default_visibility(cls, data: Any) -> Any:
        if isinstance(data, dict) and "visibility" not in data:
            data = {**data, "visibility": cls.default_visibility}
        return data

    @model_validator(mode="after")
    def _common_rules(self) -> "EntryBase":
        if self.role != "admin" and self.role not in self.writers:
            raise FieldValueError(
                "type",
                f"le rôle « {self.role} » ne peut pas écrire une entrée de type « {self.type} »"
            )
        if self.visibility == "staff" and self.role not in ("tutor", "admin"):
            raise FieldValueError("visibility", "seuls les tuteurs et administrateurs écrivent des entrées « staff »")
        codes = [c.code for c in self.competencies]
        if len(set(codes)) != len(codes):
            raise FieldValueError("competencies", "une compétence est citée deux fois")
        if len(set(self.attachments)) != len(self.attachments):
            raise FieldValueError("attachments", "une pièce jointe est citée deux fois")
        if self.levels == "none" and any(c.level for c in self.competencies):
            raise FieldValueError("competencies", "ce type d'entrée ne porte pas de niveau de compétence")
        return self


TUTOR_ROLES = frozenset({"tutor"})


class Positioning(EntryBase):
    label: ClassVar[str] = "Positionnement initial"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "required"
    type: Literal["positioning"]
    needs: list[LongText] = Field(default_factory=list, title="Besoins identifiés")
    goals: list[LongText] = Field(default_factory=list, title="Objectifs")


class Meeting(EntryBase):
    label: ClassVar[str] = "Entretien de suivi"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    type: Literal["meeting"]
    kind: MeetingKind = Field(title="Nature de l'entretien")
    modality: Modality = Field(title="Modalité")
    duration: int = Field(ge=1, le=1440, title="Durée (minutes)")
    participants: list[ShortText] = Field(default_factory=list, title="Participants")
    decisions: list[LongText] = Field(default_factory=list, title="Décisions")


class Feedback(EntryBase):
    label: ClassVar[str] = "Retour du tuteur"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    type: Literal["feedback"]


class Evidence(EntryBase):
    label: ClassVar[str] = "Preuve"
    writers: ClassVar[frozenset[str]] = frozenset({"learner"})
    levels: ClassVar[str] = "none"
    type: Literal["evidence"]
    context: str | None = Field(None, max_length=2000, title="Contexte")


class Reflection(EntryBase):
    label: ClassVar[str] = "Réflexion / auto-évaluation"
    writers: ClassVar[frozenset[str]] = frozenset({"learner"})
    levels: ClassVar[str] = "optional"
    type: Literal["reflection"]


class Assessment(EntryBase):
    label: ClassVar[str] = "Évaluation des compétences"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "required"
    type: Literal["assessment"]

    @model_validator(mode="after")
    def _rated(self) -> "Assessment":
        if not self.competencies:
            raise FieldValueError("competencies", "une évaluation porte sur au moins une compétence")
        return self


class ActionPlan(EntryBase):
    label: ClassVar[str] = "Plan d'action"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "none"
    type: Literal["action-plan"]
    objectives: list[LongText] = Field(default_factory=list, title="Objectifs")
    actions: list[LongText] = Field(default_factory=list, title="Actions")
    due: dt.date = Field(title="Échéance")
    status: PlanStatus = Field("open", title="Statut")
    updates: EntryId | None = Field(None, title="Met à jour le plan")

    @model_validator(mode="after")
    def _content(self) -> "ActionPlan":
        if self.updates is None and not (self.objectives or self.actions):
            raise FieldValueError("objectives", "un plan d'action a au moins un objectif ou une action")
        return self


class Attendance(EntryBase):
    label: ClassVar[str] = "Assiduité"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "none"
    type: Literal["attendance"]
    period_start: dt.date = Field(title="Début de la période")
    period_end: dt.date = Field(title="Fin de la période")
    hours_planned: float = Field(gt=0, le=2000, title="Heures prévues")
    hours_attended: float = Field(ge=0, le=2000, title="Heures suivies")

    @model_validator(mode="after")
    def _period(self) -> "Attendance":
        if self.period_end < self.period_start:
            raise FieldValueError("period_end", "la fin de la période précède son début")
        if self.hours_attended > self.hours_planned:
            raise FieldValueError("hours_attended", "les heures suivies dépassent les heures prévues")
        return self


class Alert(EntryBase):
    label: ClassVar[str] = "Alerte"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "none"
    default_visibility: ClassVar[str] = "staff"
    type: Literal["alert"]
    category: AlertCategory = Field(title="Catégorie")
    severity: Severity = Field(title="Gravité")
    status: AlertStatus = Field("open", title="Statut")
    updates: EntryId | None = Field(None, title="Met à jour l'alerte")


class CompanyFeedback(EntryBase):
    label: ClassVar[str] = "Retour de l'entreprise"
    writers: ClassVar[frozenset[str]] = frozenset({"company"})
    type: Literal["company-feedback"]
    period_start: dt.date = Field(title="Début de la période")
    period_end: dt.date = Field(title="Fin de la période")
    missions: list[LongText] = Field(default_factory=list, title="Missions confiées")
    observations: str | None = Field(None, max_length=5000, title="Observations")

    @model_validator(mode="after")
    def _period(self) -> "CompanyFeedback":
        if self.period_end < self.period_start:
            raise FieldValueError("period_end", "la fin de la période précède son début")
        return self


class Observation(EntryBase):
    """The company tutor's observation grid: each competency worked in the company at a level of the
    framework's scale, or « non vu en entreprise »."""

    label: ClassVar[str] = "Grille d'observation en entreprise"
    writers: ClassVar[frozenset[str]] = frozenset({"company"})
    levels: ClassVar[str] = "required"
    type: Literal["observation"]
    period_start: dt.date = Field(title="Début de la période")
    period_end: dt.date = Field(title="Fin de la période")
    not_observed: list[Code] = Field(default_factory=list, title="Non vu en entreprise")

    @model_validator(mode="after")
    def _grid(self) -> "Observation":
        if self.period_end < self.period_start:
            raise FieldValueError("period_end", "la fin de la période précède son début")
        if not self.competencies and not self.not_observed:
            raise FieldValueError("competencies", "la grille porte sur au moins une compétence")
        if len(set(self.not_observed)) != len(self.not_observed):
            raise FieldValueError("not_observed", "une compétence est citée deux fois")
        both = sorted({c.code for c in self.competencies} & set(self.not_observed))
        if both:
            raise FieldValueError("not_observed", f"compétence à la fois observée et non vue : {', '.join(both)}")
        return self


class Participant(Strict):
    """Someone else taking part in a planned meeting (reminders go to the address)."""

    name: ShortText = Field(title="Nom")
    email: EmailAddress = Field(title="Adresse e-mail")


PLAN_STATUSES_FR = {"planned": "Prévu", "cancelled": "Annulé"}


class PlannedMeeting(EntryBase):
    """A meeting or visit planned ahead (docs/planning.md). ``date`` is when it starts.

    Moving or cancelling is a new record whose ``updates`` names the first
    plan of the chain, with a ``reason``; the latest record of a chain is the
    plan as it stands.  The meeting entry written once it was held names the
    plan in ``about``.
    """

    label: ClassVar[str] = "Rendez-vous planifié"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "none"
    type: Literal["planned-meeting"]
    kind: MeetingKind = Field(title="Nature")
    modality: Modality = Field(title="Modalité")
    duration: int = Field(ge=1, le=1440, title="Durée (minutes)")
    place: str | None = Field(None, max_length=300, title="Lieu")
    video_link: str | None = Field(None, max_length=500, pattern=r"^https://\S+$", title="Lien de visioconférence")
    with_learner: bool = Field(True, title="Avec l'apprenant·e")
    with_company: bool = Field(False, title="Avec le tuteur ou la tutrice entreprise")
    others: list[Participant] = Field(default_factory=list, max_length=20, title="Autres participants")
    status: Literal["planned", "cancelled"] = Field("planned", title="État")
    updates: EntryId | None = Field(None, title="Déplace ou annule le rendez-vous")
    reason: str | None = Field(None, max_length=1000, title="Motif du changement")

    @model_validator(mode="after")
    def _plan(self) -> "PlannedMeeting":
        if self.competencies:
            raise FieldValueError("competencies", "un rendez-vous planifié ne porte pas de compétence")
        if self.updates is not None and not (self.reason or "").strip():
            raise FieldValueError("reason", "un déplacement ou une annulation donne son motif")
        if self.updates is None and self.status == "cancelled":
            raise FieldValueError("status", "on annule un rendez-vous existant (updates), pas un nouveau")
        if self.status == "planned":
            if self.modality == "presentiel" and not (self.place or "").strip():
                raise FieldValueError("place", "un rendez-vous en présentiel a un lieu")
            if self.modality == "distance-synchrone" and not self.video_link:
                raise FieldValueError("video_link", "un rendez-vous à distance synchrone a un lien de visioconférence")
            if self.kind in ("visite-entreprise", "entretien-tripartite") and not self.with_company:
                raise FieldValueError("with_company", "une visite en entreprise ou un entretien tripartite se fait "
                                                      "avec le tuteur ou la tutrice entreprise")
        emails = [o.email.lower() for o in self.others]
        if len(set(emails)) != len(emails):
            raise FieldValueError("others", "un participant est cité deux fois")
        return self


MissionTerm = Literal["court", "moyen", "long"]
MISSION_TERMS = {"court": "Court terme", "moyen": "Moyen terme", "long": "Long terme"}


class Mission(EntryBase):
    """A company mission of the learner's mission plan, linked to the competencies it exercises.

    A change (done, dropped, new dates) is a new record whose ``updates``
    names the first one.
    """

    label: ClassVar[str] = "Mission en entreprise"
    writers: ClassVar[frozenset[str]] = frozenset({"tutor", "company"})
    levels: ClassVar[str] = "none"
    type: Literal["mission"]
    term: MissionTerm = Field(title="Échéance")
    period_start: dt.date | None = Field(None, title="Début")
    period_end: dt.date | None = Field(None, title="Fin")
    status: PlanStatus = Field("open", title="Statut")
    updates: EntryId | None = Field(None, title="Met à jour la mission")

    @model_validator(mode="after")
    def _mission(self) -> "Mission":
        if self.updates is None and not self.competencies:
            raise FieldValueError("competencies", "une mission exerce au moins une compétence")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise FieldValueError("period_end", "la fin de la mission précède son début")
        return self


SignMethod = Literal["password", "mail-link", "trainer-device", "qr-code"]
SIGN_METHODS = {
    "password": "session ouverte par mot de passe",
    "mail-link": "lien reçu par e-mail",
    "trainer-device": "appareil du formateur",
    "qr-code": "code QR",
}
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
PortfolioPath = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_][a-z0-9_-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,199}){1,3}$")]


#: The folder of training sessions in portfolios/.
SESSIONS_DIR = "_sessions"


class Connection(Strict):
    """The connection a distance signature came from."""

    ip: str = Field(max_length=64, title="Adresse IP")
    user_agent: str | None = Field(None, max_length=300, title="Navigateur")


class SignedFile(Strict):
    #: Relative to portfolios/ (``<learner>/entries/....md``, ``<learner>/files/...``).
    path: PortfolioPath = Field(title="Fichier")
    sha256: Sha256 = Field(title="Empreinte SHA-256")


class Signature(EntryBase):
    """The one signature record: who attests what, how they were identified, and the seal of what they saw.

    ``about`` is the signed entry; ``signed`` lists the SHA-256 of its file
    (first) and of each of its attachments, as signed; the body is the
    signer's optional comment.  ``date`` and ``recorded`` are the server's time.
    """

    label: ClassVar[str] = "Signature"
    writers: ClassVar[frozenset[str]] = frozenset({"learner", "company", "tutor"})
    levels: ClassVar[str] = "none"
    direct: ClassVar[bool] = False
    type: Literal["signature"]
    signer_name: ShortText = Field(title="Signataire")
    method: SignMethod = Field(title="Identifié·e par")
    signed: list[SignedFile] = Field(min_length=1, max_length=51, title="Fichiers signés")
    #: An attendance signature (docs/attendance.md): the session signed (its file is ``signed[0]``).
    session: EntryId | None = Field(None, title="Séance émargée")
    #: How the signer signed a session: a drawing (SVG in ``attachments``) or their typed name.
    signed_as: SignedAs | None = Field(None, title="Forme de la signature")
    trainer: Username | None = Field(None, title="Formateur·rice de la séance")
    trainer_name: ShortText | None = Field(None, title="Nom du formateur ou de la formatrice")
    #: At a distance: the connection that signed, kept as supporting evidence.
    connection: Connection | None = Field(None, title="Connexion")

    @model_validator(mode="after")
    def _signed(self) -> "Signature":
        if (self.about is None) == (self.session is None):
            raise FieldValueError("about", "une signature nomme soit l'entrée signée (about), soit la séance "
                                           "émargée (session)")
        if self.session is not None:
            if not self.signed[0].path.startswith(SESSIONS_DIR + "/"):
                raise FieldValueError("signed", "le premier fichier signé d'un émargement est la séance")
            if self.signed_as is None:
                raise FieldValueError("signed_as", "indiquez la forme de la signature (dessin ou nom saisi)")
            if self.signed_as == "drawing" and not self.attachments:
                raise FieldValueError("attachments", "une signature dessinée joint son dessin (SVG)")
        elif self.signed_as or self.trainer or self.connection:
            raise FieldValueError("session", "forme, formateur et connexion ne concernent qu'un émargement")
        if self.competencies:
            raise FieldValueError("competencies", "une signature ne porte pas de compétence")
        paths = [f.path for f in self.signed]
        if len(set(paths)) != len(paths):
            raise FieldValueError("signed", "un fichier signé est cité deux fois")
        return self


class AttendanceMark(EntryBase):
    """What the trainer marks about the learner at one session: absent, justified absence, late, left early.

    Written only by the attendance service (the session's trainer or an
    admin).  The latest mark for a session is the one that counts.  The
    reason of a justified absence, its proof and the trainer's note are a
    ``staff`` feedback entry ``about`` the mark: the shared sites show the
    state only.
    """

    label: ClassVar[str] = "Relevé de présence"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "none"
    direct: ClassVar[bool] = False
    type: Literal["attendance-mark"]
    session: EntryId = Field(title="Séance")
    status: MarkStatus = Field(title="Relevé")
    minutes: int | None = Field(None, ge=1, le=360, title="Minutes manquées")

    @model_validator(mode="after")
    def _mark(self) -> "AttendanceMark":
        timed = self.status in ("late", "left-early")
        if timed and self.minutes is None:
            raise FieldValueError("minutes", "indiquez le nombre de minutes de retard ou d'avance")
        if not timed and self.minutes is not None:
            raise FieldValueError("minutes", "des minutes ne s'indiquent que pour un retard ou un départ anticipé")
        if self.competencies or self.attachments:
            raise FieldValueError("attachments", "un relevé de présence ne porte ni compétence ni pièce jointe "
                                                 "(le justificatif accompagne la note de l'équipe)")
        return self


class Convocation(EntryBase):
    """The learner is expected at a session that is not (or not only) their group's."""

    label: ClassVar[str] = "Convocation à une séance"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "none"
    direct: ClassVar[bool] = False
    type: Literal["convocation"]
    session: EntryId = Field(title="Séance")


class DistanceWork(EntryBase):
    """Asynchronous distance work (FOAD): hours declared with their evidence, not signed per half-day."""

    label: ClassVar[str] = "Travail à distance (FOAD)"
    writers: ClassVar[frozenset[str]] = TUTOR_ROLES
    levels: ClassVar[str] = "none"
    type: Literal["distance-work"]
    period_start: dt.date = Field(title="Début de la période")
    period_end: dt.date = Field(title="Fin de la période")
    hours: float = Field(gt=0, le=500, title="Heures réalisées")
    activities: list[LongText] = Field(min_length=1, title="Activités réalisées")
    assistance: str | None = Field(None, max_length=5000, title="Assistance technique et pédagogique apportée")

    @model_validator(mode="after")
    def _period(self) -> "DistanceWork":
        if self.period_end < self.period_start:
            raise FieldValueError("period_end", "la fin de la période précède son début")
        return self


ENTRY_MODELS: dict[str, type[EntryBase]] = {
    "positioning": Positioning,
    "meeting": Meeting,
    "feedback": Feedback,
    "evidence": Evidence,
    "reflection": Reflection,
    "assessment": Assessment,
    "action-plan": ActionPlan,
    "attendance": Attendance,
    "alert": Alert,
    "company-feedback": CompanyFeedback,
    "observation": Observation,
    "signature": Signature,
    "planned-meeting": PlannedMeeting,
    "mission": Mission,
    "attendance-mark": AttendanceMark,
    "convocation": Convocation,
    "distance-work": DistanceWork,
}
ENTRY_TYPES = tuple(ENTRY_MODELS)
#: Entry types the organisation may ask to have signed off (``signoff.rules``).
SIGNABLE_TYPES = ("meeting", "assessment", "evidence", "feedback", "positioning", "action-plan",
                  "company-feedback", "observation", "reflection")
TYPE_LABELS = {name: model.label for name, model in ENTRY_MODELS.items()}

AnyEntry = Annotated[
    Union[
        Positioning,
        Meeting,
        Feedback,
        Evidence,
        Reflection,
        Assessment,
        ActionPlan,
        Attendance,
        Alert,
        CompanyFeedback,
        Observation,
        Signature,
        PlannedMeeting,
        Mission,
        AttendanceMark,
        Convocation,
        DistanceWork,
    ],
    Field(discriminator="type"),
]
ENTRY_ADAPTER: TypeAdapter[EntryBase] = TypeAdapter(AnyEntry)

#: Maximum length of an entry's Markdown body, in characters.
MAX_BODY = 100_000


def types_written_by(role: str) -> list[str]:
    """Entry types a role may write through the forms and the API, in the schema's order
    (a signature is written only by the signing service: livret.signoff)."""
    return [t for t, m in ENTRY_MODELS.items() if m.direct and (role == "admin" or role in m.writers)]


def entry_to_data(entry: EntryBase) -> dict[str, Any]:
    """Front-matter data of an entry: JSON types, no empty optional keys."""
    data = entry.model_dump(mode="json")
    keep = {"id", "type", "date", "recorded", "author", "role", "title", "visibility"}
    if data.get("competencies"):
        data["competencies"] = [
            {k: v for k, v in rating.items() if v is not None} for rating in data["competencies"]
        ]
    return {k: v for k, v in data.items() if k in keep or v not in (None, [], "")}

