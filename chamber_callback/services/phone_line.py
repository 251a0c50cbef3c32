"""The phone line, from the database: each call's place in the menu (``InboundCall``), the request
it makes through the web form's own intake (channel ``phone``), and the figures of the line.

Twilio posts each step's keys to the action URL of the reply before, which carries the reply's
number ``n``. A step is answered once: a retried post (the same ``n`` again, after the reply
went out) gets the same reply, so nothing is created twice.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..domain import phone_line as menu
from ..domain.actors import Actor
from ..domain.intake import UNKNOWN_SECTOR, AmbiguousPostalCode, Intake, IntakeError, resolve_postal_code
from ..domain.lifecycle import Status
from ..domain.messages import moment_words, window_words
from ..domain.phone_line import CallState, Chosen, Context, Reply, Say, Step
from ..extensions import begin_write, db, insert_or_ignore
from ..models import CallbackRequest, InboundCall, RegionalUnit, StaffUser, Topic
from ..telephony import get_telephony
from . import assignment, eta, settings
from .calls import CallNotPlaced, place_call
from .intake import UnknownTopic, active_request_for_phone, submit_request
from .messages import channel_for
from .queue import CALLBACKS

log = logging.getLogger(__name__)
# What the request made by the menu stores for the fields a caller is not asked (agents read them
# on the card): data, in the chamber's language, not translated.
PHONE_REQUEST_FIELDS = {
    "name": "Appel au standard",  # the caller gave no name
    "business_name": "Non renseignée",
    "description": "Demande faite au téléphone, par le menu vocal.",
}
ABANDONED_AFTER = timedelta(minutes=15)  # a call still in the menu by then was hung up


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _default_postal_code() -> str:
    return current_app.config["PHONE_DEFAULT_POSTAL_CODE"]


def _website() -> str:
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    return urlparse(base).netloc or base or _("le site de la chambre")


def context(caller: str | None, now: datetime) -> Context:
    """The chamber as the menu tells it: topics, banner, open or not (the default unit's hours)."""
    topics = db.session.execute(select(Topic.code, Topic.label).where(Topic.active.is_(True))
                                .order_by(Topic.position, Topic.id)).all()
    unit = _unit_of(_default_postal_code())
    calendar = eta.calendar(unit) if unit is not None else None
    open_now, opens = True, None
    if calendar is not None:
        begin, _end = next(calendar.open_intervals(now))
        open_now = begin <= now
        opens = None if open_now else menu.spoken_times(moment_words(begin, now, _tz()))
    return Context(topics=[tuple(t) for t in topics], website=_website(),
                   banner=settings.display_get("PUBLIC_BANNER") or "", open_now=open_now, opens=opens,
                   urgent_only=bool(settings.get("INTAKE_URGENT_ONLY")), caller=menu.caller_number(caller))


def _unit_of(postal_code: str) -> RegionalUnit | None:
    from ..models import Departement

    try:
        commune = resolve_postal_code(postal_code)
    except AmbiguousPostalCode as ambiguous:
        commune = ambiguous.communes[0]
    except ValueError:
        return None
    departement = db.session.get(Departement, commune.departement)
    return departement.unit if departement is not None else None


# --- the call's row --------------------------------------------------------------------------------

def _locked(call_sid: str, *, began: bool = False) -> InboundCall | None:
    """The call's row, in a write transaction (on SQLite the write lock is taken first: a read
    then a write in one transaction would be refused at once while another call writes)."""
    if not began:
        begin_write()
    return db.session.scalar(select(InboundCall).where(InboundCall.call_sid == call_sid).with_for_update()
                             .execution_options(populate_existing=True))


def _store(call: InboundCall, state: CallState, reply: Reply, n: int, now: datetime) -> None:
    call.choices = {"state": state.to_json(), "n": n, "reply": _reply_json(reply)}
    call.step = state.step.value if state.step else call.step
    call.updated_at = now
    if reply.outcome:
        call.outcome, call.ended_at = reply.outcome, call.ended_at or now


def _reply_json(reply: Reply) -> dict:
    return asdict(reply)


def _reply_of(data: dict) -> Reply:
    """A stored reply, read tolerantly (keys of another version are ignored)."""
    gather = data.get("gather")
    fields = {"num_digits", "finish_on_key", "timeout"}
    return Reply(tuple(Say(say.get("text", ""), say.get("key")) for say in data.get("says", ())),
                 menu.Gather(Step(gather["step"]), **{k: v for k, v in gather.items() if k in fields})
                 if gather and gather.get("step") in Step._value2member_map_ else None, data.get("outcome"))


class UnknownCall(Exception):
    """A step posted for a call that never came in (or whose row is gone)."""


def start(call_sid: str, caller_raw: str | None, now: datetime) -> tuple[int, Reply]:
    """The call comes in: the welcome and the first question (the same reply if Twilio asks twice)."""
    begin_write()
    db.session.execute(insert_or_ignore(InboundCall, "call_sid").values(
        call_sid=call_sid, caller=menu.caller_number(caller_raw), step="welcome", started_at=now, updated_at=now))
    call = _locked(call_sid, began=True)
    if call.choices:
        db.session.commit()
        return call.choices["n"], _reply_of(call.choices["reply"])
    ctx = context(caller_raw, now)
    state = CallState()
    if settings.get("INTAKE_PAUSED"):
        reply = menu.paused(settings.display_get("INTAKE_PAUSED_MESSAGE") or "", ctx)
    else:
        reply = menu.first_step(state, ctx)
    _store(call, state, reply, 1, now)
    db.session.commit()
    return 1, reply


def answer(call_sid: str, n: int, digits: str | None, now: datetime) -> tuple[int, Reply]:
    """The keys the caller pressed after reply ``n`` (None: nothing before the timeout)."""
    call = _locked(call_sid)
    if call is None or not call.choices:
        db.session.rollback()
        raise UnknownCall(call_sid)
    stored_n = call.choices["n"]
    ctx = context(call.caller, now)
    if call.choices.get("submitting") == n:  # the same step is being answered by another post
        db.session.commit()
        return n, menu.in_progress(ctx)
    if n != stored_n or call.outcome:  # a retried post, or a call already over: the same reply
        db.session.commit()
        return stored_n, _reply_of(call.choices["reply"])
    state = CallState.from_json(call.choices["state"])
    if state.step is None:  # a state this version cannot read: the menu again
        reply = menu.first_step(state, ctx)
    else:
        if state.step in (Step.POSTAL, Step.CONNECT):
            # This step may make the request, whose transaction commits (and frees the row lock)
            # before the reply is stored: mark it first, so a concurrent post of it waits it out.
            call.choices = {**call.choices, "submitting": n}
            db.session.commit()
            call = _locked(call_sid)
        reply = _next(call, state, digits, ctx, now)
    _store(call, state, reply, stored_n + 1, now)
    db.session.commit()
    return stored_n + 1, reply


def _next(call: InboundCall, state: CallState, digits: str | None, ctx: Context, now: datetime) -> Reply:
    result = menu.answer(state, digits, ctx)
    if not isinstance(result, Chosen):
        return result
    value, step = result.value, state.step
    if step == Step.NUMBER:
        if not value:
            return menu.ask(Step.KEY_NUMBER, state, ctx)
        state.number, state.source = ctx.caller, "caller"
        return _after_number(state, ctx, now)
    if step == Step.KEY_NUMBER:
        state.pending = value
        return menu.ask(Step.CONFIRM, state, ctx)
    if step == Step.CONFIRM:
        if not value:
            state.pending = None
            return menu.ask(Step.KEY_NUMBER, state, ctx)
        state.number, state.source, state.pending = state.pending, "keyed", None
        return _after_number(state, ctx, now)
    if step == Step.TOPIC:
        state.topic = value
        return menu.ask(Step.URGENCY, state, ctx)
    if step == Step.URGENCY:
        state.urgent = bool(value)
        if ctx.urgent_only and not state.urgent:
            return menu.refused_not_urgent(ctx)
        return menu.ask(Step.POSTAL, state, ctx)
    if step == Step.POSTAL:
        state.postal_code = value
        if _may_connect(state, now):
            return menu.ask(Step.CONNECT, state, ctx)
        return _submit(call, state, ctx, now)
    return _submit(call, state, ctx, now, connect=bool(value))  # Step.CONNECT


def _deadline_words(request: CallbackRequest, now: datetime) -> str:
    return menu.spoken_times(moment_words(request.sla_deadline, now, _tz()))


def _window_words(request: CallbackRequest, now: datetime) -> str | None:
    if request.eta_from and request.eta_to and request.eta_reason is None:
        return menu.spoken_times(window_words(request.eta_from, request.eta_to, now, _tz()))
    return None


def _after_number(state: CallState, ctx: Context, now: datetime) -> Reply:
    """A caller who already has an active request hears about it (only when the number is the one
    the call comes from); the others go on to the topic."""
    active = active_request_for_phone(state.number)
    if active is None:
        return menu.ask(Step.TOPIC, state, ctx)
    proven = state.source == "caller"
    return menu.existing(active.reference if proven else None, _window_words(active, now),
                         _deadline_words(active, now), ctx)


def _may_connect(state: CallState, now: datetime) -> bool:
    """The direct connection (``INBOUND_CONNECT_WHEN_FREE``): an agent of the caller's unit who can
    take the topic is free right now, and nobody waits in that unit (nor overflowed)."""
    if not current_app.config.get("INBOUND_CONNECT_WHEN_FREE") or not get_telephony().capabilities.bridge:
        return False
    unit = _unit_of(state.postal_code or _default_postal_code())
    topic = db.session.scalar(select(Topic).where(Topic.code == state.topic))
    if unit is None or topic is None:
        return False
    waiting = db.session.scalar(select(func.count()).select_from(CallbackRequest).where(
        CallbackRequest.status == Status.QUEUED.value, CALLBACKS,
        (CallbackRequest.unit_id == unit.id) | CallbackRequest.overflow_at.is_not(None)))
    return not waiting and assignment.free_agent_for(unit.id, topic.code, now)


def _connect(request: CallbackRequest, now: datetime) -> bool:
    """Claim the new request for the agent the routing rules pick, then start the bridge (the
    agent's phone first, then the caller's). False when that could not be done: the request then
    waits in the queue like any other, and the caller is told so."""
    agent_id = assignment.best_free_agent(request, now)
    if agent_id is None:
        return False
    claimed = assignment.claim_for(agent_id, request.id, now, reason="direct connection from the phone line")
    if claimed is None:
        return False
    agent = db.session.get(StaffUser, agent_id)
    try:
        place_call(claimed.reference, agent, now)
    except (CallNotPlaced, assignment.AssignmentConflict):
        # A refused bridge already gave the request back; otherwise (no phone) it is given back here.
        db.session.rollback()
        held = db.session.get(CallbackRequest, request.id, populate_existing=True)
        if held.status == Status.IN_CALL.value and held.assigned_agent_id == agent_id:
            try:
                assignment.release_request(claimed.reference, agent, now, reason="direct connection not placed")
            except assignment.AssignmentConflict:
                log.warning("phone line: request %s stays with agent %s", request.reference, agent_id)
        return False
    return True


def _submit(call: InboundCall, state: CallState, ctx: Context, now: datetime, connect: bool = False) -> Reply:
    code = state.postal_code or _default_postal_code()
    confirmed = state.postal_code is not None
    try:
        commune = resolve_postal_code(code)
    except AmbiguousPostalCode as ambiguous:
        commune, confirmed = ambiguous.communes[0], False
    except IntakeError:
        log.error("phone line: PHONE_DEFAULT_POSTAL_CODE %r is not a known postal code", code)
        return menu.failed(ctx)
    try:
        submission = _submit_intake(state, code, commune, confirmed, now)
    except UnknownTopic:  # deactivated while the caller was keying: « autre », if it is still offered
        try:
            state.topic = "autre"
            submission = _submit_intake(state, code, commune, confirmed, now)
        except (UnknownTopic, LookupError):
            return menu.failed(ctx)
    except LookupError:  # a département without a unit: a configuration error
        log.exception("phone line: the request could not be routed")
        return menu.failed(ctx)
    request = submission.request
    begin_write()  # the request is committed; the rest of the step writes the call's row: lock first
    call.request_id = request.id
    if not submission.created:  # another channel made one for this number meanwhile
        return menu.existing(request.reference if state.source == "caller" else None, _window_words(request, now),
                             _deadline_words(request, now), ctx)
    log.info("phone line: request %s made by call %s", request.reference, call.id)
    if connect and _connect(request, now):
        call.request_id = request.id  # (the bridge's transactions may have ended this one)
        return menu.connecting(request.reference, ctx)
    call.request_id = request.id
    return menu.created(request.reference, _window_words(request, now), _deadline_words(request, now),
                        channel_for(request) == "sms", ctx)


def _submit_intake(state: CallState, code: str, commune, confirmed: bool, now: datetime):
    intake = Intake(**PHONE_REQUEST_FIELDS, sector=UNKNOWN_SECTOR, phone=state.number,
                    postal_code=code, commune=commune, topic=state.topic,
                    urgent=bool(state.urgent), consent=True,
                    urgency_reason="activite_menacee" if state.urgent else None, channel="phone",
                    commune_confirmed=confirmed)
    return submit_request(intake, actor=Actor("artisan", "phone"), now=now, sla_hours=settings.get("SLA_HOURS"))


def ended(call_sid: str, now: datetime) -> None:
    """Twilio says the call is over: one still in the menu was hung up at its step."""
    call = _locked(call_sid)
    if call is not None:
        call.ended_at = call.ended_at or now
        call.outcome = call.outcome or "hung_up"
    db.session.commit()


# --- the line's figures ----------------------------------------------------------------------------

def figures(start: datetime, end: datetime, now: datetime) -> dict:
    """Calls received, requests made, and the calls that ended in the menu, per step reached."""
    window = (InboundCall.started_at >= start, InboundCall.started_at < end)
    rows = db.session.execute(select(InboundCall.outcome, InboundCall.step, func.count()).where(*window)
                              .group_by(InboundCall.outcome, InboundCall.step)).all()
    # Without Twilio's status callback a hang-up leaves the call in the menu: quiet for a while, it was.
    stale = db.session.execute(select(InboundCall.step, func.count()).where(
        *window, InboundCall.outcome.is_(None), InboundCall.updated_at < now - ABANDONED_AFTER)
        .group_by(InboundCall.step)).all()
    by_outcome: dict[str, int] = {}
    hung_up: dict[str, int] = dict(stale)
    for outcome, step, count in rows:
        by_outcome[outcome or "in_menu"] = by_outcome.get(outcome or "in_menu", 0) + count
        if outcome == "hung_up":
            hung_up[step] = hung_up.get(step, 0) + count
    return {"received": sum(count for _o, _s, count in rows),
            "created": by_outcome.get("created", 0) + by_outcome.get("connected", 0),
            "connected": by_outcome.get("connected", 0),
            "existing": by_outcome.get("existing", 0), "refused": by_outcome.get("refused", 0),
            "paused": by_outcome.get("paused", 0), "no_input": by_outcome.get("no_input", 0),
            "hung_up": hung_up}
