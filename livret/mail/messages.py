"""The mails livret sends: what each says, in French, as plain text and HTML.

A builder returns a :class:`Message` (recipient, subject, both bodies, kind);
the outbox (:mod:`livret.mail.outbox`) stores it and the sender
(:mod:`livret.mail.sender`) turns it into a MIME mail with
:func:`to_email` at sending time, with the organisation's current sender.

Rules every message follows: the organisation's name; plain text plus an
HTML alternative with inline styles only (no remote image, no tracking
pixel, no link other than the one the mail is about); nothing personal in
the subject (no learner's name: subjects reach notification previews and
mail servers' logs).  Templates are Jinja2 files in ``templates/`` (HTML
autoescaped).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from ..store.french_dates import fr_date
from .settings import Sender

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The path of a one-time link (as :data:`livret.admin.accounts.LINK_PATH`).
LINK_PATH = "/lien/"

SUBJECTS = {
    "invitation": "Votre invitation à livret — {org}",
    "reset": "Réinitialisation de votre mot de passe",
    "company-link": "Un accès à l'espace entreprise",
    "signoff-reminder": "Des documents attendent votre signature",
    "test": "Courriel de test de livret",
    "meeting-reminder": "Rappel : un rendez-vous demain",
    "weekly-digest": "Votre semaine de suivi",
    "followup-escalation": "Des suivis en retard",
    "attendance-reminder": "Émargement manquant : {title} du {day}",
}
#: A file carried by a mail: (file name, MIME type such as ``text/calendar``, content).
Attachment = tuple[str, str, bytes]


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str
    #: ``invitation``, ``reset``, ``company-link``, ``signoff-reminder``, ``test``...
    kind: str
    to_name: str = ""
    #: Files joined to the mail (a meeting's ``.ics``).
    attachments: tuple[Attachment, ...] = ()
    #: The one-click unsubscribe link of a scheduled mail (livret.mail.preferences): shown in the
    #: footer and sent as ``List-Unsubscribe`` with ``List-Unsubscribe-Post`` (RFC 8058).
    unsubscribe_url: str = ""


def link_url(base_url: str | None, token: str) -> str:
    """``<base>/lien/<token>`` (the path alone without a base)."""
    return (base_url or "").rstrip("/") + LINK_PATH + token


_text_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                               keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
_html_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                               undefined=jinja2.StrictUndefined)


def fr_moment(moment: dt.datetime, timezone: str = "Europe/Paris") -> str:
    """``12 mars 2027 à 14 h 30`` in the organisation's timezone."""
    try:
        local = moment.astimezone(ZoneInfo(timezone))
    except (ValueError, KeyError):
        local = moment
    return f"{fr_date(local)} à {local.hour} h {local.minute:02d}"


def _validity(expires: dt.datetime, now: dt.datetime | None = None) -> str:
    """« 7 jours », « 1 heure »... (rounded to the nearest hour or day)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    seconds = max(0.0, (expires - now).total_seconds())
    hours = round(seconds / 3600)
    if hours >= 48:
        days = round(seconds / 86400)
        return f"{days} jours"
    if hours >= 24:
        return "24 heures" if hours == 24 else f"{hours} heures"
    return "1 heure" if hours <= 1 else f"{hours} heures"


def render(kind: str, org, *, to: str, to_name: str = "", subject: str | None = None,
           attachments: tuple[Attachment, ...] = (), unsubscribe_url: str = "", **context) -> Message:
    """The message of template ``<kind>.txt`` / ``<kind>.html`` for ``org``."""
    name = org.name
    data = {"org_name": name, "org_contact": org.contact or "", "person_name": to_name,
            "unsubscribe_url": unsubscribe_url, **context}
    text = _text_env.get_template(f"{kind}.txt").render(data)
    html = _html_env.get_template(f"{kind}.html").render(data)
    subject = subject or SUBJECTS[kind].format(org=name)
    return Message(to=to, subject=subject, text=text, html=html, kind=kind, to_name=to_name,
                   attachments=tuple(attachments), unsubscribe_url=unsubscribe_url)


def invitation(org, *, person_name: str, to: str, url: str, expires: dt.datetime) -> Message:
    """The first password of an account someone created for this person (the link lives 7 days)."""
    return render("invitation", org, to=to, to_name=person_name, url=url,
                  expires=fr_moment(expires, org.timezone), validity=_validity(expires))


def password_reset(org, *, person_name: str, to: str, url: str, expires: dt.datetime) -> Message:
    """A new password (a link the person asked for, or an administrator gave)."""
    return render("reset", org, to=to, to_name=person_name, url=url,
                  expires=fr_moment(expires, org.timezone), validity=_validity(expires))


def company_link(org, *, person_name: str, to: str, learner_names: list[str], url: str, expires: dt.datetime,
                 sent_by: str) -> Message:
    """The company tutor's link to the workspace of their learners (no password)."""
    return render("company-link", org, to=to, to_name=person_name, url=url, learner_names=list(learner_names),
                  sent_by=sent_by, expires=fr_moment(expires, org.timezone), validity=_validity(expires))


def signoff_reminder(org, *, person_name: str, to: str, items: list[tuple[str, str, dt.date]],
                     url: str, unsubscribe_url: str = "") -> Message:
    """What waits for this person's signature: (learner name, entry title, waiting since)."""
    rows = [{"learner": learner, "title": title, "since": fr_date(since)} for learner, title, since in items]
    return render("signoff-reminder", org, to=to, to_name=person_name, url=url, items=rows,
                  unsubscribe_url=unsubscribe_url)


def meeting_reminder(org, *, person_name: str, to: str, kind_label: str, learner_name: str, when: dt.datetime,
                     duration: int, modality_label: str, place: str = "", video_link: str = "",
                     participants: list[str] = (), ics: bytes = b"", unsubscribe_url: str = "") -> Message:
    """The day before a planned meeting: what, when, where (or the video link), with whom; the ``.ics``
    joined so the meeting lands in the person's calendar (the same UID as their feed: no duplicate)."""
    attachments = (("rendez-vous.ics", "text/calendar", ics),) if ics else ()
    return render("meeting-reminder", org, to=to, to_name=person_name, kind_label=kind_label,
                  learner_name=learner_name, when=fr_moment(when, org.timezone), duration=duration,
                  modality_label=modality_label, place=place or "", video_link=video_link or "",
                  participants=list(participants), attachments=attachments, unsubscribe_url=unsubscribe_url)


def weekly_digest(org, *, person_name: str, to: str, week_label: str, meetings: list[dict],
                  followups: list[dict], alerts: list[tuple[str, int]], signoffs: list[dict], url: str,
                  unsubscribe_url: str = "") -> Message:
    """A tutor's week: ``meetings`` ({when, kind, learner}), ``followups`` ({learner, label, state, due}),
    ``alerts`` (learner name, count of open alerts: never their text), ``signoffs`` ({learner, title, since})."""
    return render("weekly-digest", org, to=to, to_name=person_name, week_label=week_label,
                  meetings=list(meetings), followups=list(followups), alerts=list(alerts),
                  signoffs=list(signoffs), url=url, unsubscribe_url=unsubscribe_url)


def followup_escalation(org, *, person_name: str, to: str, days: int, items: list[dict], url: str,
                        unsubscribe_url: str = "") -> Message:
    """To an administrator: follow-ups overdue by at least ``days`` days ({learner, label, due, tutors})."""
    return render("followup-escalation", org, to=to, to_name=person_name, days=days, items=list(items), url=url,
                  unsubscribe_url=unsubscribe_url)


def attendance_reminder(org, *, person_name: str, to: str, title: str, day: dt.date, start: str, end: str,
                        trainer_name: str, url: str, unsubscribe_url: str = "") -> Message:
    """To a learner who did not sign a session by the end of its window: contact the trainer (once)."""
    subject = SUBJECTS["attendance-reminder"].format(title=title, day=fr_date(day))
    return render("attendance-reminder", org, to=to, to_name=person_name, subject=subject, title=title,
                  day=fr_date(day), start=start, end=end, trainer_name=trainer_name, url=url,
                  unsubscribe_url=unsubscribe_url)


def test_message(org, *, to: str, server: str) -> Message:
    """What ``livret mail test`` sends."""
    return render("test", org, to=to, server=server, moment=fr_moment(dt.datetime.now(dt.timezone.utc),
                                                                      org.timezone))


def new_message_id(sender: Sender | None = None) -> str:
    return email.utils.make_msgid(domain=sender.domain if sender and not sender.placeholder else "livret.localhost")


def to_email(message: Message, sender: Sender, *, message_id: str | None = None,
             date: dt.datetime | None = None) -> EmailMessage:
    """The MIME mail: plain text first, its HTML alternative, Message-ID, Date, From, Reply-To."""
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = email.utils.formataddr((sender.name, sender.address))
    mail["To"] = email.utils.formataddr((message.to_name, message.to)) if message.to_name else message.to
    if sender.reply_to:
        mail["Reply-To"] = sender.reply_to
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.format_datetime(date or dt.datetime.now(dt.timezone.utc))
    mail["Message-ID"] = message_id or new_message_id(sender)
    mail["Auto-Submitted"] = "auto-generated"
    mail["Content-Language"] = "fr"
    if message.unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(message.text, subtype="plain", charset="utf-8")
    mail.add_alternative(message.html, subtype="html", charset="utf-8")
    for filename, mimetype, content in message.attachments:
        maintype, _, subtype = mimetype.partition("/")
        params = {"method": "PUBLISH"} if mimetype == "text/calendar" else {}
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename, params=params)
    return mail
