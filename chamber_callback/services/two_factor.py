"""Two-factor sign-in with a TOTP app (RFC 6238, ``pyotp``) and single-use recovery codes.

A code is accepted once: the account keeps the last 30-second step it used, and only a later
step passes (one step of drift either way is tolerated). Secrets are created at enrolment and
kept on the account; recovery codes are kept as digests only and shown once.
"""
from __future__ import annotations

import base64
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, select, update

from ..domain.actors import Actor
from ..domain.reference import token_digest
from ..domain.roles import needs_second_factor
from ..extensions import db
from ..models import RecoveryCode, StaffUser
from . import settings
from .audit import record_event
from .unit_of_work import unit_of_work

RECOVERY_CODES = 10
SIX_DIGITS = re.compile(r"[0-9]{6}")
DRIFT_STEPS = 1  # a phone's clock a little off still works


def required_for(user: StaffUser) -> bool:
    return needs_second_factor(user.role, settings.get("TWO_FACTOR_FOR_EVERYONE"))


def enrolled(user: StaffUser) -> bool:
    return bool(user.totp_secret and user.totp_enabled_at)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: StaffUser, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["CHAMBER_NAME"])


def qr_code(uri: str) -> str:
    """The enrolment QR code as an SVG data URI (drawn by segno; the page's CSP allows data: images)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#1b1b1b", light="#ffffff", omitsize=False)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _recovery_digest(code: str | None) -> str:
    """As typed: case, spaces and dashes do not matter."""
    return token_digest("".join(ch for ch in (code or "").lower() if ch.isalnum()))


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    totp, code = pyotp.TOTP(secret), "".join((code or "").split())
    if not SIX_DIGITS.fullmatch(code):
        return None
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            return step
    return None


def enrol(user_id: int, secret: str, code: str, now: datetime) -> list[str] | None:
    """Confirm the app with a first code: the secret is kept and ten recovery codes are returned,
    to show once. None when the code does not match."""
    step = _matching_step(secret, code, now, None)
    if step is None:
        return None
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(RECOVERY_CODES)]
    with unit_of_work():
        enrolled_now = db.session.execute(
            update(StaffUser).where(StaffUser.id == user_id, StaffUser.totp_enabled_at.is_(None))
            .values(totp_secret=secret, totp_enabled_at=now, totp_last_step=step)
            .execution_options(synchronize_session=False)).rowcount
        if not enrolled_now:
            return None  # enrolled meanwhile (another tab): its codes stand
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        db.session.add_all(RecoveryCode(user_id=user_id, code_digest=_recovery_digest(c), created_at=now)
                           for c in codes)
        record_event(request_id=None, action="staff.two_factor_enrolled", actor=Actor.staff(user_id), now=now,
                     staff_user_id=user_id)
    return codes


def verify(user_id: int, code: str, now: datetime) -> bool:
    """A code from the app (a step later than the last one used), or an unused recovery code."""
    with unit_of_work():
        user = db.session.get(StaffUser, user_id, with_for_update=True)
        if user is None or not enrolled(user):
            return False
        step = _matching_step(user.totp_secret, code, now, user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            return True
        used = db.session.execute(
            update(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None),
                                       RecoveryCode.code_digest == _recovery_digest(code))
            .values(used_at=now).execution_options(synchronize_session=False)).rowcount
        if not used:
            return False
        left = len(db.session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user_id,
                                                                    RecoveryCode.used_at.is_(None))).all())
        record_event(request_id=None, action="staff.recovery_code_used", actor=Actor.staff(user_id), now=now,
                     staff_user_id=user_id, data={"left": left})
    return True


def record_failure(user_id: int, now: datetime) -> None:
    """A wrong code after the right password: in the journal (an attack shows there)."""
    with unit_of_work():
        record_event(request_id=None, action="staff.second_factor_failed", actor=Actor.staff(user_id), now=now,
                     staff_user_id=user_id)


def reset(user_id: int, *, actor: Actor, now: datetime) -> None:
    """An admin clears the account's second factor (a lost phone): it enrols again at its next sign-in,
    and its open sessions end."""
    with unit_of_work():
        user = db.session.get(StaffUser, user_id)
        user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
        user.session_version += 1
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        record_event(request_id=None, action="admin.two_factor_reset", actor=actor, now=now, staff_user_id=user_id,
                     data={"changes": {"two_factor": {"old": "enrolled", "new": None}}})
