"""Campaigns: creating and steering them, which of their calls an agent is given, the answers
agents record, « Ne plus m'appeler », the progress and its export, and turning a contact into a
callback request. The rules are in ``domain/campaigns.py``.

A campaign's contacts are ``CallbackRequest`` rows with ``campaign_id`` set: they go through the
same offers, claims, attempts, outcomes and retries. Everything about callback requests alone
(the SLA, the figures, the team queue, the artisan's messages) reads ``CALLBACKS``.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from ..domain import campaigns as rules
from ..domain.actors import Actor
from ..domain.campaigns import CampaignError, CampaignStatus, Definition, Question, Result, Window
from ..domain.geography import Commune
from ..domain.intake import Intake
from ..domain.lifecycle import ACTIVE_STATUSES, Status
from ..domain.roles import SEES_ALL_UNITS
from ..domain.routing import Availability
from ..extensions import db, insert_or_ignore, zone_named
from ..models import (
    CallAttempt,
    CallOptOut,
    Campaign,
    CampaignAnswer,
    CampaignImport,
    Offer,
    RegionalUnit,
    StaffUser,
    Topic,
)
from ..models import CallbackRequest as R
from ..queues import cancel_offer_expiry
from . import settings
from .audit import record_event
from .queue import CALLBACKS
from .unit_of_work import unit_of_work

ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)
CLOSED_REASON = "campaign closed"


def tz() -> ZoneInfo:
    return zone_named(current_app.config["TIMEZONE"])


def window_of(campaign: Campaign) -> Window:
    # Stored as "HH:MM" by save_campaign (the form's lenient reading is domain.campaigns.check_definition's).
    return Window(campaign.starts_on, campaign.ends_on, time.fromisoformat(campaign.call_from),
                  time.fromisoformat(campaign.call_until), tz())


def questions(campaign: Campaign) -> list[Question]:
    return rules.questions_of(campaign.questions)


# --- seeing and steering campaigns ---------------------------------------------------------------

def visible_campaigns(user: StaffUser) -> list[Campaign]:
    """Every campaign for managers and admins; for a senior, those covering its unit."""
    query = select(Campaign).options(selectinload(Campaign.units), selectinload(Campaign.topic))
    if user.role not in SEES_ALL_UNITS:
        query = query.where(Campaign.units.any(RegionalUnit.id == user.unit_id))
    return list(db.session.scalars(query.order_by(Campaign.status, Campaign.starts_on.desc(), Campaign.id.desc())))


def may_see(user: StaffUser, campaign: Campaign) -> bool:
    return user.role in SEES_ALL_UNITS or any(unit.id == user.unit_id for unit in campaign.units)


def check(raw: dict, today: date, campaign_id: int | None = None) -> Definition:
    """The submitted campaign checked (``CampaignError``), its name free among the others."""
    definition = rules.check_definition(
        raw, today=today, valid_unit_ids=db.session.scalars(select(RegionalUnit.id)),
        valid_topic_ids=db.session.scalars(select(Topic.id)))
    taken = select(Campaign.id).where(func.lower(Campaign.name) == definition.name.lower())
    if campaign_id is not None:
        taken = taken.where(Campaign.id != campaign_id)
    if db.session.scalar(taken.limit(1)) is not None:
        raise CampaignError({"name": rules.N_("Une autre campagne porte déjà ce nom.")})
    return definition


def save_campaign(definition: Definition, *, user_id: int | None, now: datetime,
                  campaign_id: int | None = None) -> Campaign:
    """Create a campaign, or change one (its questions keep their keys: q1…q5 in order; the
    answers already given stay with their key). A new period moves its waiting contacts' order."""
    with unit_of_work():
        campaign = Campaign(created_at=now, created_by_id=user_id, status=CampaignStatus.ACTIVE.value) \
            if campaign_id is None else db.session.get(Campaign, campaign_id)
        if campaign is None:
            raise LookupError(campaign_id)
        campaign.name, campaign.purpose, campaign.script = definition.name, definition.purpose, definition.script
        campaign.topic_id = definition.topic_id
        campaign.questions = [q.as_dict() for q in definition.questions]
        campaign.starts_on, campaign.ends_on = definition.starts_on, definition.ends_on
        campaign.call_from = definition.call_from.strftime("%H:%M")
        campaign.call_until = definition.call_until.strftime("%H:%M")
        campaign.max_attempts, campaign.retry_gap_minutes = definition.max_attempts, definition.retry_gap_minutes
        campaign.priority, campaign.agent_share = definition.priority.value, definition.agent_share
        campaign.units = list(db.session.scalars(select(RegionalUnit).where(RegionalUnit.id.in_(definition.unit_ids))))
        db.session.add(campaign)
        db.session.flush()
        if campaign_id is not None:
            db.session.execute(update(R).where(R.campaign_id == campaign.id, R.status.in_(ACTIVE))
                               .values(sla_deadline=window_of(campaign).deadline(), topic_id=campaign.topic_id)
                               .execution_options(synchronize_session=False))
        record_event(request_id=None, action="campaign.created" if campaign_id is None else "campaign.changed",
                     actor=Actor.staff(user_id) if user_id else Actor("system", None), now=now,
                     staff_user_id=user_id, data={"campaign_id": campaign.id})
    return campaign


def definition_values(campaign: Campaign) -> dict:
    """A campaign as the form shows it (the same keys ``check_definition`` reads)."""
    return {
        "name": campaign.name, "purpose": campaign.purpose, "script": campaign.script,
        "unit_ids": [unit.id for unit in campaign.units], "topic_id": campaign.topic_id,
        "questions": [{**q, "choices": "\n".join(q.get("choices") or ())} for q in campaign.questions or ()],
        "starts_on": campaign.starts_on.isoformat(), "ends_on": campaign.ends_on.isoformat(),
        "call_from": campaign.call_from, "call_until": campaign.call_until,
        "max_attempts": campaign.max_attempts, "retry_gap_minutes": campaign.retry_gap_minutes,
        "priority": campaign.priority, "agent_share": campaign.agent_share,
    }


def set_status(campaign_id: int, status: CampaignStatus | str, *, user_id: int, now: datetime) -> Campaign:
    """Pause, resume or close a campaign. Closing takes its waiting contacts out (cancelled, the
    pending offers withdrawn); a call in progress ends normally."""
    status = CampaignStatus(status)
    with unit_of_work() as work:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            raise LookupError(campaign_id)
        if campaign.status == CampaignStatus.CLOSED:
            raise CampaignError({"status": rules.N_("Une campagne terminée ne reprend pas.")})
        campaign.status = status.value
        if status == CampaignStatus.CLOSED:
            withdrawn = close_waiting(campaign.id, now=now, reason=CLOSED_REASON, work=work)
        else:
            withdrawn = 0
        record_event(request_id=None, action=f"campaign.{status.value}", actor=Actor.staff(user_id), now=now,
                     staff_user_id=user_id, data={"campaign_id": campaign.id, "withdrawn": withdrawn})
    return campaign


def close_waiting(campaign_id: int, *, now: datetime, reason: str, work) -> int:
    """The campaign's contacts still waiting (not in a call) are cancelled, in the caller's
    transaction. Returns how many."""
    waiting = [s.value for s in ACTIVE_STATUSES if s != Status.IN_CALL]
    offers = db.session.scalars(
        update(Offer).where(Offer.status == "pending", Offer.request_id.in_(
            select(R.id).where(R.campaign_id == campaign_id, R.status == Status.OFFERED.value)))
        .values(status="withdrawn", responded_at=now).returning(Offer.id)
        .execution_options(synchronize_session=False)).all()
    for offer_id in offers:
        work.after_commit(cancel_offer_expiry, offer_id)
    return db.session.execute(
        update(R).where(R.campaign_id == campaign_id, R.status.in_(waiting))
        .values(status=Status.CANCELLED.value, closed_at=now, assigned_agent_id=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)).rowcount


def close_finished(now: datetime) -> int:
    """Campaigns past their last call window are closed (the periodic job): their waiting
    contacts are taken out, so nobody is offered a call of a campaign that is over."""
    closed = 0
    for campaign in db.session.scalars(select(Campaign).where(Campaign.status != CampaignStatus.CLOSED.value)).all():
        if now < window_of(campaign).deadline():
            continue
        with unit_of_work() as work:
            campaign = db.session.get(Campaign, campaign.id, populate_existing=True)
            campaign.status = CampaignStatus.CLOSED.value
            withdrawn = close_waiting(campaign.id, now=now, reason=CLOSED_REASON, work=work)
            record_event(request_id=None, action="campaign.closed", actor=Actor("system", None), now=now,
                         data={"campaign_id": campaign.id, "withdrawn": withdrawn, "reason": "period over"})
        closed += 1
    db.session.commit()
    return closed


# --- which campaign call an agent is given ---------------------------------------------------------

def _on_duty(unit_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(StaffUser).where(
        StaffUser.unit_id == unit_id, StaffUser.is_active_account.is_(True),
        StaffUser.availability.in_((Availability.AVAILABLE.value, Availability.BUSY.value))))


def _on_campaign_calls(unit_id: int) -> int:
    """The unit's agents holding a campaign call (offered or in a call) now."""
    return db.session.scalar(
        select(func.count(func.distinct(R.assigned_agent_id))).join(StaffUser, StaffUser.id == R.assigned_agent_id)
        .where(StaffUser.unit_id == unit_id, R.campaign_id.is_not(None),
               R.status.in_((Status.OFFERED.value, Status.IN_CALL.value))))


def _callbacks_waiting(unit_id: int) -> int:
    """Callback requests this unit's agents could be given now (their unit's, or overflowed)."""
    return db.session.scalar(select(func.count()).select_from(R).where(
        CALLBACKS, R.status == Status.QUEUED.value, or_(R.unit_id == unit_id, R.overflow_at.is_not(None))))


def open_campaigns(unit_id: int, now: datetime) -> list[Campaign]:
    """The campaigns covering this unit that may call now (active, in their period and window)."""
    found = db.session.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.ACTIVE.value, Campaign.units.any(RegionalUnit.id == unit_id)))
    return [campaign for campaign in found if window_of(campaign).is_open(now)]


def campaign_calls_for(agent: StaffUser, now: datetime, *, exclude_recent: bool = True):
    """The query of campaign contacts this agent may be given now, first served first (or None).

    Its unit's campaigns that are open, when ``domain.campaigns.may_offer`` allows; the contact's
    portfolio agent first (``preferred_agent_id``: the agent who already handles this artisan, held
    for that agent while it is signed in), then the queue's order; numbers that asked not to be
    called again are left out."""
    from .assignment.common import EXCLUSION_WINDOW
    from .queue import queue_order

    if agent.unit_id is None:
        return None
    campaigns = open_campaigns(agent.unit_id, now)
    if not campaigns:
        return None
    waiting, busy, duty = _callbacks_waiting(agent.unit_id), _on_campaign_calls(agent.unit_id), _on_duty(agent.unit_id)
    allowed = [c.id for c in campaigns if rules.may_offer(c.priority, callbacks_waiting=waiting,
                                                           agents_on_campaign_calls=busy, agents_on_duty=duty,
                                                           share_percent=c.agent_share)]
    if not allowed:
        return None
    portfolio_elsewhere = exists().where(
        StaffUser.id == R.preferred_agent_id, StaffUser.id != agent.id, StaffUser.is_active_account.is_(True),
        StaffUser.availability != Availability.OFFLINE.value)
    conditions = [
        R.campaign_id.in_(allowed), R.status == Status.QUEUED.value, R.unit_id == agent.unit_id,
        ~portfolio_elsewhere,
        ~exists().where(CallOptOut.phone == R.phone),
    ]
    if exclude_recent:
        conditions.append(~select(Offer.id).where(
            Offer.request_id == R.id, Offer.agent_id == agent.id, Offer.status.in_(("declined", "expired")),
            Offer.created_at >= R.queued_at, Offer.created_at >= now - EXCLUSION_WINDOW).exists())
    return select(R.id).where(*conditions).order_by(*queue_order(agent.id))


def retry_settings(request: R) -> tuple[int, int] | None:
    """(max attempts, gap in minutes) of a contact's campaign; None for a callback request."""
    if request.campaign_id is None:
        return None
    campaign = db.session.get(Campaign, request.campaign_id)
    return campaign.max_attempts, campaign.retry_gap_minutes


# --- answers and « Ne plus m'appeler » ----------------------------------------------------------------

def answers_of(request_id: int) -> dict[str, str]:
    return dict(db.session.execute(select(CampaignAnswer.question_key, CampaignAnswer.value)
                                   .where(CampaignAnswer.request_id == request_id)).all())


def check_answers(request: R, raw: dict) -> dict[str, str]:
    """The answers typed on the call card, checked (``CampaignError``) before anything is written."""
    campaign = db.session.get(Campaign, request.campaign_id)
    return rules.check_answers(questions(campaign), raw)


def store_answers(request: R, answers: dict[str, str], *, agent_id: int, now: datetime) -> None:
    """Keep a contact's answers (the latest one per question), in the caller's transaction."""
    for key, value in answers.items():
        changed = db.session.execute(
            update(CampaignAnswer).where(CampaignAnswer.request_id == request.id, CampaignAnswer.question_key == key)
            .values(value=value, agent_id=agent_id, answered_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            db.session.add(CampaignAnswer(campaign_id=request.campaign_id, request_id=request.id, question_key=key,
                                          value=value, agent_id=agent_id, answered_at=now))
    if answers:
        record_event(request_id=request.id, action="campaign.answered", actor=Actor.staff(agent_id), now=now,
                     staff_user_id=agent_id, data={"questions": sorted(answers)})


def opt_out(request: R, *, now: datetime, actor: Actor) -> None:
    """« Ne plus m'appeler »: the number is left out of every campaign from now on (this one's other
    waiting contacts for it, none; later imports skip it). In the caller's transaction."""
    db.session.execute(insert_or_ignore(CallOptOut, "phone").values(
        phone=request.phone, created_at=now, campaign_id=request.campaign_id))
    record_event(request_id=request.id, action="campaign.opted_out", actor=actor, now=now)


# --- progress and export ---------------------------------------------------------------------------

@dataclass
class Progress:
    campaign: Campaign
    results: dict[str, int] = field(default_factory=dict)  # Result → contacts
    by_unit: dict[str, dict[str, int]] = field(default_factory=dict)  # unit name → Result → contacts
    tallies: list[rules.Tally] = field(default_factory=list)
    converted: int = 0
    imports: list[CampaignImport] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.results.values())

    @property
    def done(self) -> int:
        return self.total - self.results.get(Result.TO_CALL, 0) - self.results.get(Result.TO_RETRY, 0)


def _latest_outcome():
    """Each contact's latest call outcome (a correlated subquery)."""
    return (select(CallAttempt.outcome).where(CallAttempt.request_id == R.id, CallAttempt.ended_at.is_not(None))
            .order_by(CallAttempt.id.desc()).limit(1).scalar_subquery())


def _attempts():
    return select(func.count()).where(CallAttempt.request_id == R.id).scalar_subquery()


def progress(campaign_id: int) -> Progress:
    """Where the campaign stands: contacts by result (and by unit), answers counted per question,
    contacts turned into callback requests, and its imports."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(campaign_id)
    result = Progress(campaign, results={r.value: 0 for r in Result})
    grouped = select(RegionalUnit.name, R.status, _latest_outcome().label("outcome"),
                     (_attempts() > 0).label("called"), func.count()).join(RegionalUnit, RegionalUnit.id == R.unit_id) \
        .where(R.campaign_id == campaign_id).group_by(RegionalUnit.name, R.status, "outcome", "called")
    for unit, status, outcome, called, count in db.session.execute(grouped):
        key = rules.result_of(status, outcome, attempts=int(bool(called))).value
        result.results[key] += count
        result.by_unit.setdefault(unit, {r.value: 0 for r in Result})[key] += count
    counted: dict[str, dict[str, int]] = defaultdict(dict)
    for key, value, count in db.session.execute(
            select(CampaignAnswer.question_key, CampaignAnswer.value, func.count())
            .where(CampaignAnswer.campaign_id == campaign_id)
            .group_by(CampaignAnswer.question_key, CampaignAnswer.value)):
        counted[key][value] = count
    result.tallies = [rules.tally(q, counted.get(q.key, {})) for q in questions(campaign)]
    origin = R.__table__.alias("origin")
    result.converted = db.session.scalar(select(func.count()).select_from(R).join(
        origin, origin.c.id == R.origin_request_id).where(origin.c.campaign_id == campaign_id))
    result.imports = list(db.session.scalars(select(CampaignImport).where(CampaignImport.campaign_id == campaign_id)
                                             .order_by(CampaignImport.id.desc()).limit(10)))
    return result


EXPORT_PHONE_COLUMN = 3


def export_rows(campaign_id: int) -> Iterator[list]:
    """The campaign's contacts, one row each, with their result and answers (header first)."""
    from ..labels import campaign_result_label, outcome_label, sector_label

    campaign = db.session.get(Campaign, campaign_id)
    asked = questions(campaign)
    yield [_("Référence"), _("Nom"), _("Entreprise"), _("Téléphone"), _("SIRET"), _("Code postal"), _("Commune"),
           _("Département"), _("Unité"), _("Secteur"), _("Résultat"), _("Appels"), _("Dernier résultat"),
           _("Dernier appel"), *[q.label for q in asked], _("Demande de rappel")]
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    for request_id, key, value in db.session.execute(
            select(CampaignAnswer.request_id, CampaignAnswer.question_key, CampaignAnswer.value)
            .where(CampaignAnswer.campaign_id == campaign_id)):
        answers[request_id][key] = value
    converted = dict(db.session.execute(select(R.origin_request_id, R.reference).where(
        R.origin_request_id.in_(select(R.id).where(R.campaign_id == campaign_id)))).all())
    last_call = select(func.max(CallAttempt.started_at)).where(CallAttempt.request_id == R.id).scalar_subquery()
    rows = db.session.execute(
        select(R, RegionalUnit.name, _latest_outcome(), _attempts(), last_call)
        .join(RegionalUnit, RegionalUnit.id == R.unit_id).where(R.campaign_id == campaign_id).order_by(R.id)
        .execution_options(yield_per=1000))
    zone = tz()
    for request, unit, outcome, attempts, called_at in rows:
        result = rules.result_of(request.status, outcome, attempts=attempts)
        mine = answers.get(request.id, {})
        yield [request.reference, request.name, request.business_name, request.phone, request.siret or "",
               request.postal_code, request.commune_name or "", request.departement_code, unit,
               sector_label(request.sector), campaign_result_label(result), attempts,
               outcome_label(outcome) if outcome else "",
               called_at.astimezone(zone).strftime("%d/%m/%Y %H:%M") if called_at else "",
               *[mine.get(q.key, "") for q in asked], converted.get(request.id, "")]


# --- a contact becomes a callback request --------------------------------------------------------

class AlreadyRequested(Exception):
    """The artisan already has a callback request in progress (its reference)."""

    def __init__(self, reference: str):
        super().__init__(reference)
        self.reference = reference


def convert(contact_id: int, *, user: StaffUser, now: datetime, urgent: bool = False) -> R:
    """An artisan reached with a real need becomes a callback request, in one click: the usual
    request (24 h SLA, queue, confirmation to the artisan), made from the contact's details, its
    description the campaign's answers and the last call's note; the contact's calls and answers
    stay its history (``origin_request_id``)."""
    from .intake import submit_request

    contact = db.session.get(R, contact_id)
    if contact is None or contact.campaign_id is None:
        raise LookupError(contact_id)
    if contact.purged_at is not None:
        raise CampaignError({"contact": rules.N_("Les données de ce contact ont été effacées.")})
    existing = db.session.scalar(select(R.reference).where(R.origin_request_id == contact.id).limit(1))
    if existing:
        raise AlreadyRequested(existing)
    campaign = db.session.get(Campaign, contact.campaign_id)
    commune = Commune(contact.commune_insee, contact.commune_name or "") if contact.commune_insee else None
    intake = Intake(
        name=contact.name, business_name=contact.business_name, sector=contact.sector, phone=contact.phone,
        postal_code=contact.postal_code,
        commune=commune or _commune_in(contact.departement_code, contact.postal_code),
        commune_confirmed=commune is not None,
        topic=campaign.topic.code if campaign.topic.active else "autre",
        description=_description(contact, campaign)[:1000], urgent=urgent, consent=False, siret=contact.siret,
        channel=rules.CHANNEL, no_sms=False, urgency_reason="autre" if urgent else None)
    submission = submit_request(intake, actor=Actor.staff(user.id), now=now, sla_hours=settings.get("SLA_HOURS"))
    if not submission.created:
        raise AlreadyRequested(submission.request.reference)
    with unit_of_work():
        db.session.execute(update(R).where(R.id == submission.request.id).values(origin_request_id=contact.id)
                           .execution_options(synchronize_session=False))
        record_event(request_id=contact.id, action="campaign.converted", actor=Actor.staff(user.id), now=now,
                     staff_user_id=user.id, data={"request": submission.request.reference})
    return db.session.get(R, submission.request.id, populate_existing=True)


def _commune_in(departement: str, postal_code: str) -> Commune:
    from ..domain.geography import communes_for

    for commune in communes_for(postal_code):
        if commune.departement == departement:
            return commune
    raise CampaignError({"contact": rules.N_("Le code postal de ce contact n'est plus reconnu.")})


def _description(contact: R, campaign: Campaign) -> str:
    """The new request's description (stored, so in the chamber's language: not translated)."""
    given = answers_of(contact.id)
    lines = [f"Campagne « {campaign.name} »."]
    for question in questions(campaign):
        if question.key in given:
            lines.append(f"{question.label} {given[question.key]}")
    note = db.session.scalar(select(CallAttempt.note).where(CallAttempt.request_id == contact.id,
                                                            CallAttempt.note.is_not(None))
                             .order_by(CallAttempt.id.desc()).limit(1))
    if note:
        lines.append(note)
    return "\n".join(lines)


def origin_of(request: R) -> tuple[Campaign, R] | None:
    """The campaign and contact a callback request was made from."""
    if request.origin_request_id is None:
        return None
    contact = db.session.get(R, request.origin_request_id)
    if contact is None or contact.campaign_id is None:
        return None
    return db.session.get(Campaign, contact.campaign_id), contact
