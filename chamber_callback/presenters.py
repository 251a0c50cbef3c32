"""What staff see of requests, offers and their own state (shared by the console and the API)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import or_, select

from . import labels
from .domain.lifecycle import Status
from .domain.roles import sees_all_units
from .extensions import db
from .models import AuditEvent, CallAttempt, CallbackRequest, Campaign, Offer, StaffUser
from .services.retention import READ_ACTION
from .services.stats import local_midnight


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def pending_offer(agent: StaffUser) -> Offer | None:
    return db.session.scalar(select(Offer).where(Offer.agent_id == agent.id, Offer.status == "pending")
                             .order_by(Offer.id.desc()))


def held_requests(agent: StaffUser) -> list[CallbackRequest]:
    return list(db.session.scalars(select(CallbackRequest).where(
        CallbackRequest.assigned_agent_id == agent.id, CallbackRequest.status == Status.IN_CALL.value,
    ).order_by(CallbackRequest.sla_deadline)))


def open_attempt(request: CallbackRequest) -> CallAttempt | None:
    return db.session.scalar(select(CallAttempt).where(CallAttempt.request_id == request.id,
                                                       CallAttempt.ended_at.is_(None)))


def artisan_history(request: CallbackRequest, viewer: StaffUser) -> list[CallbackRequest]:
    """Other requests of the same artisan (same phone or SIRET), newest first: the portfolio,
    limited to what ``viewer`` may see (its unit's requests and the ones it called)."""
    same = CallbackRequest.phone == request.phone
    if request.siret:
        same = or_(same, CallbackRequest.siret == request.siret)
    others = db.session.scalars(select(CallbackRequest).where(same, CallbackRequest.id != request.id)
                                .order_by(CallbackRequest.submitted_at.desc()).limit(20))
    return [other for other in others if may_view(viewer, other)]


def may_view(user: StaffUser, callback: CallbackRequest) -> bool:
    """Managers see everything; agents and seniors their unit's requests and those they called."""
    if sees_all_units(user.role) or callback.unit_id == user.unit_id or callback.assigned_agent_id == user.id:
        return True
    return db.session.scalar(select(CallAttempt.id).where(CallAttempt.request_id == callback.id,
                                                          CallAttempt.agent_id == user.id).limit(1)) is not None


@dataclass(frozen=True)
class TimelineEntry:
    event: AuditEvent
    who: str  # the actor, as staff read it (a colleague's name, « l'artisan »…)


def timeline(request: CallbackRequest) -> list[TimelineEntry]:
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.request_id == request.id,
                                                         AuditEvent.action != READ_ACTION)  # in the journal
                                .order_by(AuditEvent.id)).all()
    ids = {event.actor.staff_user_id for event in events} - {None}
    names = dict(db.session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))).all()) \
        if ids else {}
    return [TimelineEntry(event, labels.actor_label(event.actor, names)) for event in events]


def my_day(agent: StaffUser, now: datetime) -> list[CallAttempt]:
    """The agent's attempts since local midnight, newest first."""
    midnight = local_midnight(now, current_app.config["TIMEZONE"])
    return list(db.session.scalars(select(CallAttempt).where(CallAttempt.agent_id == agent.id,
                                                             CallAttempt.started_at >= midnight)
                                   .order_by(CallAttempt.id.desc())))


def sla_level(request: CallbackRequest, now: datetime) -> str:
    """The CSS name of the request's SLA state: ok, raised, at-risk, breached (``services.sla.state``)."""
    from .services.sla import state

    return state(request, now).value


def request_summary(request: CallbackRequest) -> dict:
    return {
        "reference": request.reference,
        "status": request.status,
        "business_name": request.business_name,
        "topic": request.topic.code,
        "topic_label": request.topic.label,
        "urgent": request.urgent,
        "urgency_reason": request.urgency_reason,
        "sla_deadline": iso(request.sla_deadline),
        "unit": request.unit.code,
    }


def request_detail(request: CallbackRequest, viewer: StaffUser) -> dict:
    """The staff view of a request: the artisan, the question, attempts, history and timeline."""
    return {
        **request_summary(request),
        "name": request.name,
        "phone": request.phone,
        "email": request.email,
        "siret": request.siret,
        "sector": request.sector,
        "postal_code": request.postal_code,
        "commune": request.commune_name,
        "description": request.description,
        "preferred_window": ({"start": iso(request.preferred_start), "end": iso(request.preferred_end)}
                             if request.preferred_start else None),
        "submitted_at": iso(request.submitted_at),
        "assigned_agent_id": request.assigned_agent_id,
        "failed_attempts": request.failed_attempts,
        "next_attempt_at": iso(request.next_attempt_at),
        "attempts": [
            {"id": a.id, "agent_id": a.agent_id, "started_at": iso(a.started_at), "ended_at": iso(a.ended_at),
             "outcome": a.outcome, "note": a.note, "follow_up_at": iso(a.follow_up_at)}
            for a in request.attempts
        ],
        "artisan_history": [request_summary(other) | {"submitted_at": iso(other.submitted_at)}
                            for other in artisan_history(request, viewer)],
        "timeline": [
            {"at": iso(e.created_at), "action": e.action, "actor": e.actor_type, "actor_id": e.actor_id,
             "actor_name": entry.who, "from": e.from_status, "to": e.to_status, "reason": e.reason}
            for entry in timeline(request) for e in (entry.event,)
        ],
    }


def offer_json(offer: Offer) -> dict:
    return {"id": offer.id, "expires_at": iso(offer.expires_at), "request": request_summary(offer.request)}


@dataclass(frozen=True)
class CampaignCard:
    """What the call card adds for a campaign's contact (its campaign, questions and answers, the
    callback request made from it), or for a callback request made from one (where it came from)."""

    campaign: Campaign | None = None
    questions: tuple = ()
    answers: dict | None = None
    converted: str | None = None  # the reference of the callback request made from this contact
    origin_campaign: Campaign | None = None
    origin_reference: str | None = None


def campaign_card(request: CallbackRequest) -> CampaignCard | None:
    from .services import campaigns

    if request.campaign_id is not None:
        campaign = db.session.get(Campaign, request.campaign_id)
        converted = db.session.scalar(select(CallbackRequest.reference)
                                      .where(CallbackRequest.origin_request_id == request.id).limit(1))
        return CampaignCard(campaign, tuple(campaigns.questions(campaign)), campaigns.answers_of(request.id),
                            converted)
    origin = campaigns.origin_of(request)
    if origin is None:
        return None
    return CampaignCard(origin_campaign=origin[0], origin_reference=origin[1].reference)
