"""Staff accounts: creation, passwords, tokens."""
from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..auth import issue_token
from ..domain.actors import Actor
from ..domain.intake import IntakeError, normalise_phone, one_line
from ..domain.passwords import PasswordError, check_password
from ..domain.roles import ALL_ROLES, NEEDS_UNIT
from ..extensions import begin_write, db
from ..models import ApiToken, RegionalUnit, StaffUser, Topic
from .audit import record_event


class AccountError(ValueError):
    """Refused, with a message (translated); ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def check_password_strength(password: str, *user_inputs: str | None) -> None:
    """``domain.passwords``: AccountError (French) when the password is too short or too guessable."""
    try:
        check_password(password, [value for value in user_inputs if value])
    except PasswordError as error:
        raise AccountError(_(error.message, **error.params), "password") from None


def create_user(*, email: str, role: str, password: str, now: datetime, name: str | None = None,
                unit_code: str | None = None, phone: str | None = None, skills: list[str] | None = None,
                capacity: int = 1, actor: Actor | None = None, audit_action: str = "staff.created") -> StaffUser:
    email = email.strip().lower()
    if role not in ALL_ROLES:
        raise AccountError(_("Rôle inconnu « %(role)s » : %(roles)s.", role=role, roles=", ".join(ALL_ROLES)))
    check_password_strength(password, email, name)
    unit = None
    if unit_code:
        unit = db.session.scalar(select(RegionalUnit).where(RegionalUnit.code == unit_code))
        if unit is None:
            codes = ", ".join(db.session.scalars(select(RegionalUnit.code).order_by(RegionalUnit.id)))
            raise AccountError(_("Unité inconnue « %(unit)s » : %(codes)s.", unit=unit_code, codes=codes))
    if role in NEEDS_UNIT and unit is None:
        raise AccountError(_("Un agent ou un senior appartient à une unité (--unit)."))
    if phone:
        try:
            phone = normalise_phone(phone)
        except IntakeError as error:
            raise AccountError(_(error.message, **error.params)) from None
    if capacity < 1:
        raise AccountError(_("La capacité est d'au moins 1 appel."))
    begin_write()
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        db.session.rollback()
        raise AccountError(_("Un compte existe déjà pour %(email)s.", email=email))
    topics = db.session.scalars(select(Topic).where(Topic.code.in_(skills))).all() if skills is not None else \
        db.session.scalars(select(Topic)).all()
    user = StaffUser(email=email, name=one_line(name) or email.split("@")[0], role=role,
                     unit_id=unit.id if unit else None, phone=phone, capacity=capacity, created_at=now,
                     availability="offline",
                     availability_since=now, missed_offers=0, session_version=1, is_active_account=True)
    user.set_password(password)
    user.skills = list(topics)
    db.session.add(user)
    db.session.flush()
    data = {"role": role, "unit": unit_code}
    if audit_action != "staff.created":  # from the administration pages: old → new like every admin change
        account = {"email": email, "role": role, "unit": unit_code, "capacity": capacity,
                   "skills": sorted(t.code for t in topics)}
        data["changes"] = {"account": {"old": None, "new": account}}
    record_event(request_id=None, action=audit_action, actor=actor or Actor("system", "cli"), now=now,
                 staff_user_id=user.id, data=data)
    db.session.commit()
    return user


def change_password(user: StaffUser, current: str, new: str, now: datetime) -> None:
    if not user.check_password(current):
        raise AccountError(_("Le mot de passe actuel est incorrect."), "current")
    check_password_strength(new, user.email, user.name)
    begin_write()
    user.set_password(new)
    user.session_version += 1  # other sessions end
    record_event(request_id=None, action="staff.password_changed", actor=Actor.staff(user.id), now=now,
                 staff_user_id=user.id)
    db.session.commit()


def end_sessions(user: StaffUser, now: datetime, why: str = "logout") -> None:
    """Every session of the account ends, on every device (logout): its cookies no longer load."""
    begin_write()
    db.session.execute(update(StaffUser).where(StaffUser.id == user.id)
                       .values(session_version=StaffUser.session_version + 1)
                       .execution_options(synchronize_session=False))
    record_event(request_id=None, action="staff.signed_out", actor=Actor.staff(user.id), now=now,
                 staff_user_id=user.id, reason=why)
    db.session.commit()


def authenticate(email: str, password: str) -> StaffUser | None:
    """The active account with this e-mail and password, or None. An unknown e-mail costs the same
    password check as a wrong password, so the answer time does not tell which accounts exist."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.is_active:
        return None
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def new_api_token(user: StaffUser, now: datetime, label: str | None = None) -> str:
    begin_write()
    token = issue_token(user, label)
    record_event(request_id=None, action="staff.token_issued", actor=Actor("system", "cli"), now=now,
                 staff_user_id=user.id, data={"label": label})
    db.session.commit()
    return token


def revoke_tokens(user: StaffUser, now: datetime) -> int:
    begin_write()
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                       ApiToken.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoked_at = now
    record_event(request_id=None, action="staff.tokens_revoked", actor=Actor("system", "cli"), now=now,
                 staff_user_id=user.id, data={"count": len(tokens)})
    db.session.commit()
    return len(tokens)
