"""« Simulateur d'appel entrant »: the phone line without a Twilio account, for staff in
development (``PHONE_SIMULATOR``, off in production). A keypad in the browser drives the same
service (``services.phone_line``) and the same TwiML as a real call; the page shows the text the
voice would say."""
from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET

from flask import abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..clock import utcnow
from ..domain.roles import ALL_ROLES, TAKES_CALLS
from ..extensions import db
from ..models import InboundCall
from ..services import phone_line
from ..webhooks.voice import render
from . import bp

SIMULATED = "SIM"  # prefix of the simulated calls' ids


def _enabled() -> None:
    if not current_app.config.get("PHONE_SIMULATOR"):
        abort(404)


def describe(twiml: str) -> dict:
    """What a caller would hear and may key next, read from the TwiML itself."""
    root = ET.fromstring(twiml)
    says = [element.text or "" if element.tag == "Say" else _("[enregistrement : %(url)s]", url=element.text)
            for element in root.iter() if element.tag in ("Say", "Play")]
    gather = root.find("Gather")
    return {"says": says, "ended": gather is None,
            "gather": None if gather is None else {
                "digits": int(gather.get("numDigits")) if gather.get("numDigits") else None,
                "finish": gather.get("finishOnKey") or "", "timeout": int(gather.get("timeout") or 5),
                # Twilio posts an empty answer on a silence there (the postal code is optional).
                "empty_ok": gather.get("actionOnEmptyResult") == "true"}}


@bp.get("/console/simulateur-appel")
@roles_required(ALL_ROLES)
def phone_simulator():
    _enabled()
    return render_template("staff/phone_simulator.html", takes_calls=current_user.role in TAKES_CALLS)


@bp.post("/console/simulateur-appel/etape")
@roles_required(ALL_ROLES)
def phone_simulator_step():
    """One step of a simulated call: ``{"call": null, "caller": "06…"}`` starts one; then
    ``{"call", "n", "digits"}`` (``digits`` null: the caller said nothing); ``{"call", "hangup": true}``."""
    _enabled()
    body = request.get_json(silent=True) or {}
    call_sid, now = body.get("call"), utcnow()
    if call_sid is not None and (not isinstance(call_sid, str) or not call_sid.startswith(SIMULATED)):
        abort(400)
    if body.get("hangup") and call_sid:
        phone_line.ended(call_sid, now)
        return jsonify({"call": call_sid, "ended": True, "says": [], "gather": None})
    if call_sid is None:
        call_sid = SIMULATED + secrets.token_hex(12)
        caller = body.get("caller")
        n, reply = phone_line.start(call_sid, caller if isinstance(caller, str) else None, now)
    else:
        digits, n = body.get("digits"), body.get("n")
        if not isinstance(n, int) or (digits is not None and (not isinstance(digits, str) or len(digits) > 20)):
            abort(400)
        try:
            n, reply = phone_line.answer(call_sid, n, digits, now)
        except phone_line.UnknownCall:
            abort(404)
    twiml = str(render(reply, n))
    result = {"call": call_sid, "n": n, "twiml": twiml, "outcome": reply.outcome, **describe(twiml)}
    row = db.session.scalar(db.select(InboundCall).where(InboundCall.call_sid == call_sid))
    if row is not None and row.request is not None:
        result["reference"] = row.request.reference
    return jsonify(result)
