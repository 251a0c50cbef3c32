"""The SLA tracker: deadlines, the escalation tick, and recording when the promise was kept.

Each level fires once per request: the (request, level) pair is unique in ``escalations``,
inserted with ON CONFLICT DO NOTHING inside the tick's transaction; notifications are rows of
that same transaction, e-mailed after it commits by ``services.notifications``.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select

from ..domain.actors import SYSTEM
from ..domain.escalation import EscalationLevel, SlaState, due_now, next_escalation, sla_state
from ..domain.lifecycle import ACTIVE_STATUSES
from ..domain.messages import CALLED_WORD
from ..domain.sla import DEFAULT_OPENING_HOURS, BusinessCalendar, sla_used
from ..extensions import begin_write, db, insert_many, update_many
from ..models import AuditEvent, CallbackRequest, ClosedDay, Escalation, RegionalUnit
from . import settings
from .audit import record_event
from .notifications import Recipients, notify_level, notify_resolved, send_pending_emails

log = logging.getLogger(__name__)

ACTIVE = [s.value for s in ACTIVE_STATUSES]


# --- the clock for a request -------------------------------------------------------------------

def opening_hours(unit: RegionalUnit | None) -> dict[int, tuple[time, time]]:
    if unit is None or not unit.opening_hours:
        return dict(DEFAULT_OPENING_HOURS)
    return {int(day): (time.fromisoformat(start), time.fromisoformat(end))
            for day, (start, end) in unit.opening_hours.items()}


def closed_days(unit_id: int | None) -> frozenset[date]:
    return frozenset(db.session.scalars(select(ClosedDay.day).where(
        or_(ClosedDay.unit_id.is_(None), ClosedDay.unit_id == unit_id))))


def calendar_for(unit: RegionalUnit | None, departement: str | None) -> BusinessCalendar | None:
    """The business calendar when ``SLA_CLOCK=business``; None for the calendar clock."""
    if settings.get("SLA_CLOCK") != "business":
        return None
    return BusinessCalendar(tz=ZoneInfo(current_app.config["TIMEZONE"]), hours=opening_hours(unit),
                            departement=departement, closed_days=closed_days(unit.id if unit else None))


def unit_calendar(unit_id: int, departement: str | None) -> BusinessCalendar | None:
    """``calendar_for`` by the unit's id: the unit is only read for the business clock."""
    if settings.get("SLA_CLOCK") != "business":
        return None
    return calendar_for(db.session.get(RegionalUnit, unit_id), departement)


def request_calendar(request: CallbackRequest) -> BusinessCalendar | None:
    return calendar_for(request.unit, request.departement_code)


def levels() -> tuple[EscalationLevel, ...]:
    """The escalation levels of this installation (``ESCALATION_LEVELS``)."""
    return settings.get("ESCALATION_LEVELS")


def repeat_every() -> timedelta | None:
    hours = settings.get("ESCALATION_REPEAT_HOURS")
    return timedelta(hours=hours) if hours > 0 else None


def first_escalation_at(request: CallbackRequest, calendar: BusinessCalendar | None) -> datetime | None:
    step = next_escalation(request.submitted_at, request.sla_deadline, set(), levels(), repeat_every(),
                           calendar)
    return step.at if step else None


def share_used(request: CallbackRequest, now: datetime, calendar: BusinessCalendar | None = None) -> float:
    return sla_used(request.submitted_at, request.sla_deadline, now, calendar)


def state(request: CallbackRequest, now: datetime) -> SlaState:
    """The request's SLA state for screens (``domain.escalation.SlaState``); once called, it
    stays ok, or breached when the call came late."""
    if request.sla_met is not None:
        return SlaState.OK if request.sla_met else SlaState.BREACHED
    return sla_state(share_used(request, now, request_calendar(request)), levels())


# --- recording the promise ----------------------------------------------------------------------

def record_contact(request: CallbackRequest, now: datetime, *, reached: bool) -> None:
    """Called in the transaction of an attempt's start (reached=False) or of a reached outcome.

    Stores, once, whether the SLA was met and the time to first attempt; resolves open escalations.
    """
    if not reached and request.first_attempt_at is None:
        request.first_attempt_at = now
        if request.eta_from is not None and request.eta_to is not None and request.eta_reason is None:
            # The calibration: the window in force when the first call started, kept with it.
            request.announced_from, request.announced_to = request.eta_from, request.eta_to
            request.announced_width_s = int((request.eta_to - request.eta_from).total_seconds())
        request.time_to_first_attempt_s = int((now - request.submitted_at).total_seconds())
    if reached and request.first_reached_at is None:
        request.first_reached_at = now
    if request.campaign_id is not None:
        return  # a campaign's contact has no SLA: the chamber calls it, it asked for nothing
    met_on_reach = settings.get("SLA_MET_ON") == "first_reach"
    if request.sla_met is not None or (met_on_reach and not reached) or (not met_on_reach and reached):
        return
    request.sla_met = now <= request.sla_deadline
    request.sla_met_at = now
    request.next_escalation_at = None
    record_event(request_id=request.id, action="sla.met" if request.sla_met else "sla.missed", actor=SYSTEM,
                 now=now, data={"late_by_s": max(0, int((now - request.sla_deadline).total_seconds()))})
    resolve_escalations(request, now, CALLED_WORD)


def resolve_escalations(request: CallbackRequest, now: datetime, what: str) -> None:
    """The request was called (or closed): its open levels are resolved and whoever was told
    about them is told it is over."""
    open_levels = db.session.scalars(select(Escalation).where(Escalation.request_id == request.id,
                                                              Escalation.resolved_at.is_(None))).all()
    if not open_levels:
        return
    for escalation in open_levels:
        escalation.resolved_at = now
    notify_resolved(request, now, what)


def recompute_waiting_deadlines(now: datetime, unit_id: int | None = None) -> int:
    """After a closed day is added or removed: deadlines of requests not yet called follow it."""
    if settings.get("SLA_CLOCK") != "business":
        return 0
    begin_write()
    query = select(CallbackRequest).where(CallbackRequest.status.in_(ACTIVE), CallbackRequest.sla_met.is_(None),
                                          CallbackRequest.campaign_id.is_(None))
    if unit_id is not None:
        query = query.where(CallbackRequest.unit_id == unit_id)
    moved = 0
    for request in db.session.scalars(query).all():
        before = request.sla_deadline
        rebuild_request_deadline(request, now)
        moved += request.sla_deadline != before
    db.session.commit()
    return moved


def rebuild_request_deadline(request: CallbackRequest, now: datetime) -> None:
    """Recompute the deadline from the request's timeline (scheduled time pauses the clock)."""
    if request.sla_met is not None or request.campaign_id is not None:
        return
    from ..domain.sla import rebuild_deadline

    moves = db.session.execute(select(AuditEvent.created_at, AuditEvent.from_status, AuditEvent.to_status)
                               .where(AuditEvent.request_id == request.id, AuditEvent.to_status.is_not(None))).all()
    calendar = request_calendar(request)
    deadline = rebuild_deadline(request.submitted_at, settings.get("SLA_HOURS"), [tuple(m) for m in moves],
                                now, request.preferred_end, calendar)
    if deadline != request.sla_deadline:
        record_event(request_id=request.id, action="sla.deadline_moved", actor=SYSTEM, now=now,
                     data={"from": request.sla_deadline.isoformat(), "to": deadline.isoformat()})
        request.sla_deadline = deadline
    fired = set(db.session.scalars(select(Escalation.level).where(Escalation.request_id == request.id)))
    step = next_escalation(request.submitted_at, deadline, fired, levels(), repeat_every(), calendar)
    request.next_escalation_at = step.at if step else None


# --- the tick ----------------------------------------------------------------------------------

def sla_tick(now: datetime, limit: int = 500) -> dict[str, int]:
    """Fire the escalation levels that are due. Reads only due rows (indexed on
    ``next_escalation_at``), as plain rows, and writes in bulk; idempotent, and safe with
    several workers at once (the unique (request, level) key decides who fired)."""
    due_ids = db.session.scalars(
        select(CallbackRequest.id).where(CallbackRequest.next_escalation_at <= now)
        .order_by(CallbackRequest.next_escalation_at).limit(limit)
    ).all()
    counts = {"due": len(due_ids), "fired": 0, "notified": 0}
    if not due_ids:
        db.session.commit()
        log.info("sla tick: nothing due")
        return counts
    begin_write()
    rows = db.session.execute(
        select(CallbackRequest.id, CallbackRequest.status, CallbackRequest.sla_met, CallbackRequest.submitted_at,
               CallbackRequest.sla_deadline, CallbackRequest.priority, CallbackRequest.overflow_at,
               CallbackRequest.unit_id, CallbackRequest.departement_code)
        .where(CallbackRequest.id.in_(due_ids), CallbackRequest.next_escalation_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    fired: dict[int, set[str]] = defaultdict(set)
    for request_id, level in db.session.execute(
            select(Escalation.request_id, Escalation.level).where(Escalation.request_id.in_(due_ids))):
        fired[request_id].add(level)
    business = settings.get("SLA_CLOCK") == "business"
    every, configured = repeat_every(), levels()
    plan = []
    updates = []
    for row in rows:
        if row.status not in ACTIVE or row.sla_met is not None:
            # called, closed or cancelled: nothing more to escalate
            updates.append({"id": row.id, "priority": row.priority, "overflow_at": row.overflow_at,
                            "next_escalation_at": None})
            continue
        calendar = calendar_for(db.session.get(RegionalUnit, row.unit_id), row.departement_code) if business else None
        plan.append((row, due_now(row.submitted_at, row.sla_deadline, fired[row.id], now, configured, every,
                                  calendar), calendar))
    inserted = _insert_escalations([(row.id, level.code) for row, due, _c in plan for level in due], now)
    recipients, events, new_notifications = Recipients(), [], []
    for row, due, calendar in plan:
        priority, overflow_at = row.priority, row.overflow_at
        for level in due:
            fired[row.id].add(level.code)
            escalation_id = inserted.get((row.id, level.code))
            if escalation_id is None:
                continue  # another worker fired it
            counts["fired"] += 1
            priority = max(priority, level.priority)
            if level.overflow and overflow_at is None:
                overflow_at = now  # every unit may take it; its deadline does not move
            events.append({"request_id": row.id, "action": f"sla.{level.code}",
                           "data": {"priority": priority, "overflow": overflow_at is not None}})
            if level.notify:
                new_notifications += notify_level(db.session.get(CallbackRequest, row.id), level, escalation_id,
                                                   now, recipients)
        step = next_escalation(row.submitted_at, row.sla_deadline, fired[row.id], configured, every, calendar)
        updates.append({"id": row.id, "priority": priority, "overflow_at": overflow_at,
                        "next_escalation_at": step.at if step else None})
    insert_many(AuditEvent, events, {"created_at": now, "actor_type": SYSTEM.type, "actor_id": SYSTEM.id})
    update_many(CallbackRequest, updates)  # one UPDATE … FROM unnest on PostgreSQL
    notification_ids = [n.id for n in new_notifications]  # flushed: read before the commit expires them
    db.session.commit()
    counts["notified"] = len(notification_ids)
    if notification_ids:
        send_pending_emails(notification_ids)
    log.info("sla tick: %(due)d due, %(fired)d level(s) fired, %(notified)d notification(s)", counts)
    return counts


def _insert_escalations(pairs: list[tuple[int, str]], now: datetime) -> dict[tuple[int, str], int]:
    """Insert (request, level) rows in one statement; returns those this call created (a level
    another worker fired first conflicts on the unique key and returns nothing)."""
    rows = [{"request_id": rid, "level": level} for rid, level in pairs]
    created = insert_many(Escalation, rows, {"fired_at": now}, ignore_conflicts_on=("request_id", "level"),
                          returning=("request_id", "level", "id"))
    return {(rid, level): eid for rid, level, eid in created}
