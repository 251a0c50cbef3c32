"""Call attempts: starting one, and closing it. One service closes every attempt, whoever reports
the outcome (the console, the staff API, the telephony's status callbacks) and when an agent
corrects an automatic outcome; ``domain.attempts`` decides what the outcome means."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ...domain.actors import SYSTEM, Actor
from ...domain.attempts import (
    AUTOMATIC_NOTE_PREFIX,
    NextStep,
    Outcome,
    after_correction,
    after_outcome,
    check_report,
    may_correct,
)
from ...domain.intake import N_
from ...domain.lifecycle import Status
from ...extensions import db
from ...models import CallAttempt, CallbackRequest, StaffUser
from ...queues import enqueue_assignment, enqueue_message, schedule_requeue
from .. import campaigns
from ..audit import record_event
from ..lifecycle import transition
from ..messages import add_message
from ..sla import rebuild_request_deadline, record_contact
from ..unit_of_work import UnitOfWork, unit_of_work
from .common import AssignmentConflict, Settings, available_after_call, lock_agent
from .offers import offer_next_to_agent
from .pulls import held_request

CHANGED = N_("Cette demande a changé entre-temps : rechargez la page.")
# Added to the note of an automatic outcome an agent corrects: stored, in the chamber's language like
# the automatic note itself (``services.calls.ATTEMPT_NOTES``), so not translated.
CORRECTION_NOTE = " Corrigé par le conseiller : "


def start_attempt(reference_or_id, agent: StaffUser, now: datetime) -> CallAttempt:
    """« Appeler »: the attempt starts (and with it, on ``first_attempt``, the SLA is judged)."""
    with unit_of_work():
        lock_agent(agent.id)
        request = held_request(reference_or_id, agent)
        attempt = CallAttempt(request_id=request.id, agent_id=agent.id, started_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(attempt)
        except IntegrityError:
            raise AssignmentConflict(_("Un appel est déjà en cours pour cette demande.")) from None
        record_event(request_id=request.id, action="attempt.started", actor=Actor.staff(agent.id), now=now,
                     data={"attempt_id": attempt.id}, staff_user_id=agent.id)
        record_contact(request, now, reached=False)
    return attempt


def record_outcome(attempt_id: int, agent: StaffUser, outcome: Outcome | str, now: datetime,
                   note: str | None = None, follow_up_at: datetime | None = None, *,
                   answers: dict | None = None, do_not_call: bool = False) -> CallbackRequest:
    """Close an attempt with its outcome and move the request on (retry, follow-up, done).

    A campaign's call also keeps the answers to its questions (``answers``: question key → what
    was typed) and « Ne plus m'appeler » (``do_not_call``: the call ends as a refusal).

    Raises ``domain.attempts.ReportError`` (field → message) for a report that does not hold,
    or ``domain.campaigns.CampaignError`` for answers that do not, before anything is written;
    ``AssignmentConflict`` when the attempt is no longer this agent's to close."""
    if do_not_call:
        outcome = Outcome.REFUSED
    report = check_report(outcome, note, follow_up_at, now)
    with unit_of_work() as work:
        lock_agent(agent.id)
        attempt = db.session.get(CallAttempt, attempt_id, populate_existing=True)
        if attempt is None:
            raise LookupError(attempt_id)
        if attempt.agent_id != agent.id:
            raise AssignmentConflict(_("Cet appel n'est pas le vôtre."))
        if attempt.ended_at is not None:
            raise AssignmentConflict(_("Le résultat de cet appel est déjà enregistré."))
        request = held_request(attempt.request_id, agent)
        checked = campaigns.check_answers(request, answers or {}) if request.campaign_id is not None else {}
        settings = _settings_for(request)
        step = after_outcome(report.outcome, failed_before=request.failed_attempts, max_attempts=settings.max_attempts,
                             now=now, retry_gap=settings.retry_gap, follow_up_at=report.follow_up_at)
        closed = db.session.execute(
            update(CallAttempt).where(CallAttempt.id == attempt_id, CallAttempt.ended_at.is_(None))
            .values(ended_at=now, outcome=report.outcome.value, note=report.note,
                    follow_up_at=step.next_attempt_at if step.status == Status.SCHEDULED else None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not closed:
            raise AssignmentConflict(_("Le résultat de cet appel est déjà enregistré."))
        if not transition(request, step.status, actor=Actor.staff(agent.id), now=now,
                          action=f"attempt.{report.outcome.value}", reason=(report.note or "")[:500] or None):
            raise AssignmentConflict(_(CHANGED))
        _apply_step(request, step, agent_id=agent.id, reached_at=now, now=now, work=work)
        if request.campaign_id is not None:
            campaigns.store_answers(request, checked, agent_id=agent.id, now=now)
            if do_not_call:
                campaigns.opt_out(request, now=now, actor=Actor.staff(agent.id))
        request.assigned_agent_id = None
        if available_after_call(agent, now):
            work.after_commit(offer_next_to_agent, agent.id, now)  # the next call at once, not at the next tick
    return request


def correct_outcome(attempt_id: int, agent: StaffUser, outcome: Outcome | str, now: datetime,
                    note: str | None = None, follow_up_at: datetime | None = None) -> CallbackRequest:
    """The agent corrects an outcome the telephony recorded by itself, within the hour, while the
    request waits for its next try (a "no answer" that was in fact a conversation). The request
    then moves on exactly as if the corrected outcome had been recorded."""
    report = check_report(outcome, note, follow_up_at, now)
    with unit_of_work() as work:
        attempt = db.session.get(CallAttempt, attempt_id, populate_existing=True)
        if attempt is None or attempt.agent_id != agent.id:
            raise AssignmentConflict(_("Cet appel n'est pas le vôtre."))
        request = db.session.get(CallbackRequest, attempt.request_id, populate_existing=True)
        settings = _settings_for(request)
        latest = db.session.scalar(select(CallAttempt.id).where(CallAttempt.request_id == request.id)
                                   .order_by(CallAttempt.id.desc()).limit(1))
        if not may_correct(automatic=(attempt.note or "").startswith(AUTOMATIC_NOTE_PREFIX),
                           latest=latest == attempt.id, status=request.status, ended_at=attempt.ended_at, now=now):
            raise AssignmentConflict(
                _("Seul le dernier résultat relevé automatiquement, dans l'heure, peut être corrigé."))
        previous = attempt.outcome
        step = after_correction(previous, report.outcome, failed_attempts=request.failed_attempts,
                                max_attempts=settings.max_attempts, now=now, retry_gap=settings.retry_gap,
                                follow_up_at=report.follow_up_at)
        attempt.outcome = report.outcome.value
        attempt.note = f"{attempt.note}{CORRECTION_NOTE}{report.note or report.outcome.value}"[:2000]
        attempt.follow_up_at = step.next_attempt_at if step.status == Status.SCHEDULED else None
        why = f"{previous} → {report.outcome.value}"
        if step.status.value == request.status:
            record_event(request_id=request.id, action="attempt.corrected", actor=Actor.staff(agent.id), now=now,
                         reason=why)
        elif not transition(request, step.status, actor=Actor.staff(agent.id), now=now, action="attempt.corrected",
                            reason=why):
            raise AssignmentConflict(_(CHANGED))
        _apply_step(request, step, agent_id=agent.id, reached_at=attempt.started_at, now=now, work=work)
    return request


def _settings_for(request: CallbackRequest) -> Settings:
    """The engine's settings for this request: a campaign's contact uses its campaign's maximum
    attempts and gap between them."""
    settings = Settings.from_config()
    own = campaigns.retry_settings(request)
    if own is None:
        return settings
    return replace(settings, max_attempts=own[0], retry_gap=timedelta(minutes=own[1]))


def _apply_step(request: CallbackRequest, step: NextStep, *, agent_id: int, reached_at: datetime, now: datetime,
                work: UnitOfWork) -> None:
    """What an outcome changes once the request has moved to ``step.status``: the count of failed
    attempts, the next try (its job after commit), the promised agent, the SLA's first reach, and
    the message to the artisan (sent after commit)."""
    if step.reached:
        record_contact(request, reached_at, reached=True)
    request.failed_attempts = step.failed_attempts
    request.next_attempt_at = step.next_attempt_at
    if step.status == Status.SCHEDULED:
        request.preferred_agent_id = agent_id  # the follow-up returns to the agent who agreed it
    if request.campaign_id is not None:
        pass  # the chamber called a campaign's contact: no message about a request they never made
    elif step.message == "unreachable":
        work.after_commit(enqueue_message, add_message(request, "unreachable", now))
    elif step.message == "follow_up":
        work.after_commit(enqueue_message, add_message(request, "follow_up", now, when=step.next_attempt_at))
    if step.next_attempt_at is not None:
        work.after_commit(schedule_requeue, request.id, step.next_attempt_at)


def requeue_due(now: datetime, request_id: int | None = None) -> list[int]:
    """Requests whose retry gap or follow-up time has come go back to the queue."""
    query = select(CallbackRequest).where(
        CallbackRequest.status.in_((Status.RETRY_WAIT.value, Status.SCHEDULED.value)),
        CallbackRequest.next_attempt_at <= now,
    )
    if request_id is not None:
        query = query.where(CallbackRequest.id == request_id)
    requeued = []
    with unit_of_work() as work:
        for request in db.session.scalars(query.limit(500)).all():
            was_scheduled = request.status == Status.SCHEDULED.value
            if transition(request, Status.QUEUED, actor=SYSTEM, now=now, action="request.requeued"):
                if was_scheduled:
                    rebuild_request_deadline(request, now)  # the agreed wait does not count against the SLA
                request.queued_at = now
                request.next_attempt_at = None
                request.assignment_checked_at = None
                requeued.append(request.id)
                work.after_commit(enqueue_assignment, request.id)
    return requeued
