"""The artisans' rights over their data (RGPD art. 15 and 17): find everything held about one
phone number or e-mail address, export it, erase it.

Erasing anonymises the requests (``retention.anonymise``): the figures the reports need stay, the
person does not. An active request is cancelled first. Every search, export and erasure is
audited, without the phone or address searched for (a digest names the search).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..domain.actors import Actor
from ..domain.intake import N_, IntakeError, normalise_phone
from ..domain.lifecycle import ACTIVE_STATUSES, Status
from ..domain.reference import keyed_digest
from ..extensions import db
from ..models import ArtisanMessage, AuditEvent, CallAttempt, CallbackRequest, InboundCall
from .audit import record_event
from .intake import cancel_request
from .retention import anonymise, forget_calls
from .unit_of_work import unit_of_work


class DataRightsError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class Subject:
    """Whom a request is about: a phone (E.164) or an e-mail address, as typed and normalised."""

    phone: str | None = None
    email: str | None = None

    @classmethod
    def parse(cls, phone: str | None, email: str | None) -> Subject:
        phone, email = (phone or "").strip(), (email or "").strip().lower()
        if bool(phone) == bool(email):
            raise DataRightsError(N_("Indiquez un numéro de téléphone ou une adresse e-mail (l'un des deux)."),
                                  "phone")
        if phone:
            try:
                return cls(phone=normalise_phone(phone))
            except IntakeError as error:
                raise DataRightsError(error.message, "phone") from None
        if "@" not in email or len(email) > 254:
            raise DataRightsError(N_("Adresse e-mail invalide."), "email")
        return cls(email=email)

    @property
    def digest(self) -> str:
        """Names the search in the audit trail without writing the phone or address there (keyed
        with the installation's secret: a plain hash of a phone number is reversed by brute force)."""
        return keyed_digest(self.phone or self.email, current_app.config["SECRET_KEY"])


@dataclass(frozen=True)
class Dossier:
    subject: Subject
    requests: list[CallbackRequest]
    attempts: dict[int, list[CallAttempt]]
    messages: dict[int, list[ArtisanMessage]]
    events: dict[int, list[AuditEvent]]

    @property
    def request_ids(self) -> list[int]:
        return [request.id for request in self.requests]


def dossier(subject: Subject) -> Dossier:
    """Every request about this phone or address (erased ones excluded: nothing is held any more)."""
    condition = CallbackRequest.phone == subject.phone if subject.phone else CallbackRequest.email == subject.email
    requests = list(db.session.scalars(select(CallbackRequest).where(condition, CallbackRequest.purged_at.is_(None))
                                       .order_by(CallbackRequest.submitted_at)))
    ids = [request.id for request in requests]

    def by_request(model, order):
        grouped: dict[int, list] = {request_id: [] for request_id in ids}
        for row in db.session.scalars(select(model).where(model.request_id.in_(ids)).order_by(order)) if ids else []:
            grouped[row.request_id].append(row)
        return grouped

    return Dossier(subject, requests, by_request(CallAttempt, CallAttempt.id),
                   by_request(ArtisanMessage, ArtisanMessage.id), by_request(AuditEvent, AuditEvent.id))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def as_json(found: Dossier, now: datetime) -> dict:
    """The whole dossier as data (the export given to the artisan)."""
    return {
        "generated_at": now.isoformat(),
        "subject": {"phone": found.subject.phone, "email": found.subject.email},
        "requests": [{
            "reference": r.reference, "status": r.status, "submitted_at": _iso(r.submitted_at),
            "closed_at": _iso(r.closed_at), "channel": r.channel, "name": r.name, "business_name": r.business_name,
            "siret": r.siret, "sector": r.sector, "phone": r.phone, "email": r.email, "postal_code": r.postal_code,
            "commune": r.commune_name, "unit": r.unit.code, "topic": r.topic.code, "description": r.description,
            "urgent": r.urgent, "urgency_reason": r.urgency_reason, "no_sms": r.no_sms,
            "preferred_window": {"start": _iso(r.preferred_start), "end": _iso(r.preferred_end)}
            if r.preferred_start else None,
            "sla_deadline": _iso(r.sla_deadline), "first_attempt_at": _iso(r.first_attempt_at),
            "attempts": [{"started_at": _iso(a.started_at), "ended_at": _iso(a.ended_at), "outcome": a.outcome,
                          "note": a.note, "follow_up_at": _iso(a.follow_up_at)} for a in found.attempts[r.id]],
            "messages": [{"kind": m.kind, "channel": m.channel, "status": m.status, "sent_at": _iso(m.sent_at),
                          "body": m.body} for m in found.messages[r.id]],
            "timeline": [{"at": _iso(e.created_at), "action": e.action, "by": e.actor_type, "from": e.from_status,
                          "to": e.to_status, "reason": e.reason} for e in found.events[r.id]],
        } for r in found.requests],
    }


def record_access(subject: Subject, what: str, count: int, actor: Actor, now: datetime) -> None:
    """A search or an export of one artisan's data, in the journal (``admin.personal_data_<what>``)."""
    with unit_of_work():
        record_event(request_id=None, action=f"admin.personal_data_{what}", actor=actor, now=now,
                     staff_user_id=actor.staff_user_id,
                     data={"subject": subject.digest, "by": "phone" if subject.phone else "email",
                           "requests": count})


def erase(subject: Subject, actor: Actor, now: datetime, *, why: str, dry_run: bool = False) -> int:
    """Erase every request about this phone or address (an active one is cancelled first).
    Returns how many requests were (or, with ``dry_run``, would be) erased."""
    found = dossier(subject)
    db.session.commit()
    if any(request.status == Status.IN_CALL for request in found.requests):
        raise DataRightsError(N_("Un conseiller est en ligne avec cet artisan : effacez ses données une fois "
                                 "l'appel terminé."))
    if dry_run or not found.requests:
        if not dry_run and subject.phone:
            with unit_of_work():
                forget_calls(InboundCall.caller == subject.phone)  # calls to the line that made no request
        return len(found.requests)
    for request in found.requests:  # withdrawn from the queue first, offers and their jobs included
        if Status(request.status) in ACTIVE_STATUSES and not cancel_request(
                request, actor=actor, now=now, reason="erasure of the artisan's data"):
            raise DataRightsError(N_("Une demande de cet artisan vient de changer : recommencez."))
    with unit_of_work():
        closed = list(db.session.scalars(select(CallbackRequest.id).where(
            CallbackRequest.id.in_(found.request_ids), CallbackRequest.status.not_in(
                [s.value for s in ACTIVE_STATUSES]))))
        anonymise(closed, now, why)
        if subject.phone:
            forget_calls(InboundCall.caller == subject.phone)
        record_event(request_id=None, action="admin.personal_data_erased", actor=actor, now=now,
                     staff_user_id=actor.staff_user_id,
                     data={"subject": subject.digest, "by": "phone" if subject.phone else "email",
                           "requests": len(found.requests)})
    return len(found.requests)


def erase_closed_request(request: CallbackRequest, actor: Actor, now: datetime) -> bool:
    """The artisan, from the status page, erases a closed request (False while it is still active
    or already erased)."""
    db.session.refresh(request)
    if Status(request.status) in ACTIVE_STATUSES or request.purged_at is not None:
        return False
    with unit_of_work():
        anonymise([request.id], now, "asked by the artisan (status page)")
    return True
