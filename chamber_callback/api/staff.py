"""Staff JSON API (Bearer token): the console's actions for softphones and CTI integrations."""
from __future__ import annotations

from datetime import datetime

from flask import g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth import token_required
from ..clock import utcnow
from ..domain.attempts import Outcome, ReportError
from ..domain.campaigns import CampaignError
from ..domain.intake import one_line
from ..domain.roles import ALL_ROLES, TAKES_CALLS
from ..domain.routing import AGENT_SETTABLE, Availability
from ..extensions import db
from ..models import CallAttempt, CallbackRequest
from ..presenters import iso, may_view, offer_json, pending_offer, request_detail
from ..services import assignment
from ..services.audit import record_read
from ..services.calls import CallNotPlaced, place_call
from ..web import problem
from . import bp


def conflict(error: assignment.AssignmentConflict):
    return problem(409, _("Conflit"), _(error.message))


def me_json(agent) -> dict:
    return {"id": agent.id, "email": agent.email, "name": agent.name, "role": agent.role,
            "unit": agent.unit.code if agent.unit else None, "availability": agent.availability,
            "availability_since": iso(agent.availability_since), "capacity": agent.capacity,
            "held": assignment.held_count(agent.id)}


@bp.get("/me")
@token_required(ALL_ROLES)
def me():
    return jsonify(me_json(g.api_user))


@bp.put("/me/availability")
@token_required(TAKES_CALLS)
def put_availability():
    state = (request.get_json(silent=True) or {}).get("state")
    if state not in {s.value for s in AGENT_SETTABLE}:
        return problem(422, _("Données invalides"), errors={"state": [
            _("Valeurs possibles : %(values)s", values=", ".join(s.value for s in AGENT_SETTABLE))]})
    assignment.set_availability(g.api_user, Availability(state), utcnow())
    db.session.refresh(g.api_user)
    return jsonify(me_json(g.api_user))


@bp.get("/me/offer")
@token_required(TAKES_CALLS)
def get_offer():
    offer = pending_offer(g.api_user)
    if offer is None:
        return "", 204
    return jsonify(offer_json(offer))


@bp.post("/offers/<int:offer_id>/accept")
@token_required(TAKES_CALLS)
def accept(offer_id: int):
    try:
        accepted = assignment.accept_offer(offer_id, g.api_user, utcnow())
    except assignment.AssignmentConflict as error:
        return conflict(error)
    return jsonify(request_detail(accepted, g.api_user))


@bp.post("/offers/<int:offer_id>/decline")
@token_required(TAKES_CALLS)
def decline(offer_id: int):
    reason = (request.get_json(silent=True) or {}).get("reason")
    try:
        assignment.decline_offer(offer_id, g.api_user, utcnow(), reason=one_line(reason)[:200] or None)
    except assignment.AssignmentConflict as error:
        return conflict(error)
    return jsonify({"id": offer_id, "status": "declined"})


@bp.post("/me/next")
@token_required(TAKES_CALLS)
def pull_next():
    try:
        taken = assignment.claim_next(g.api_user, utcnow())
    except assignment.AssignmentConflict as error:
        return conflict(error)
    if taken is None:
        return "", 204
    return jsonify(request_detail(taken, g.api_user))


@bp.post("/requests/<ref:reference>/attempts")
@token_required(TAKES_CALLS)
def start_attempt(reference: str):
    try:
        attempt = place_call(reference, g.api_user, utcnow())
    except LookupError:
        return problem(404, _("Demande introuvable"))
    except assignment.AssignmentConflict as error:
        return conflict(error)
    except CallNotPlaced as error:
        return problem(409, _("Appel impossible"), _(str(error)))
    return jsonify(attempt_json(attempt)), 201


def _report(close, attempt_id: int, campaign_fields: bool = False):
    """Record or correct an outcome: the same report schema as the console (``check_report``).
    A campaign's call may also carry ``answers`` ({"q1": "oui", …}) and ``do_not_call``."""
    body = request.get_json(silent=True) or {}
    extra = {}
    if campaign_fields:
        answers = body.get("answers") or {}
        if not isinstance(answers, dict):
            return problem(422, _("Données invalides"),
                           errors={"answers": [_("Un objet {clé de question: réponse}.")]})
        extra = {"answers": {str(k): v if isinstance(v, str) else str(v) for k, v in answers.items()},
                 "do_not_call": body.get("do_not_call") is True}
    follow_up_at = None
    if body.get("follow_up_at"):
        try:
            follow_up_at = datetime.fromisoformat(body["follow_up_at"])
            if follow_up_at.tzinfo is None:
                raise ValueError
        except (TypeError, ValueError):
            return problem(422, _("Données invalides"), errors={"follow_up_at": [
                _("Date ISO 8601 avec fuseau attendue, par exemple 2026-03-02T18:30:00+01:00.")]})
    try:
        updated = close(attempt_id, g.api_user, body.get("outcome"), utcnow(), note=body.get("note"),
                        follow_up_at=follow_up_at, **extra)
    except CampaignError as error:
        return problem(422, _("Données invalides"), errors={f"answers.{key}": [_(message)]
                                                          for key, message in error.errors.items()})
    except ReportError as error:
        errors = {field: [_(message)] for field, message in error.errors.items()}
        if "outcome" in errors:
            errors["outcome"].append(_("Valeurs possibles : %(values)s", values=", ".join(o.value for o in Outcome)))
        return problem(422, _("Données invalides"), errors=errors)
    except LookupError:
        return problem(404, _("Appel introuvable"))
    except assignment.AssignmentConflict as error:
        return conflict(error)
    return jsonify(request_detail(updated, g.api_user))


@bp.post("/attempts/<int:attempt_id>/outcome")
@token_required(TAKES_CALLS)
def outcome(attempt_id: int):
    return _report(assignment.record_outcome, attempt_id, campaign_fields=True)


@bp.post("/attempts/<int:attempt_id>/correction")
@token_required(TAKES_CALLS)
def correction(attempt_id: int):
    return _report(assignment.correct_outcome, attempt_id)


@bp.get("/requests/<ref:reference>")
@token_required(ALL_ROLES)
def staff_request(reference: str):
    found = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference))
    if found is None or not may_view(g.api_user, found):
        return problem(404, _("Demande introuvable"))
    record_read(user_id=g.api_user.id, request_id=found.id, now=utcnow())
    return jsonify(request_detail(found, g.api_user))


def attempt_json(attempt: CallAttempt) -> dict:
    return {"id": attempt.id, "request": attempt.request.reference, "started_at": iso(attempt.started_at),
            "ended_at": iso(attempt.ended_at), "outcome": attempt.outcome, "call_sid": attempt.call_sid}
