"""Staff accounts: creation, passwords, tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..auth import issue_token
from ..domain.actors import Actor
from ..domain.intake import IntakeError, normalise_phone, one_line
from ..domain.roles import ALL_ROLES, NEEDS_UNIT
from ..extensions import begin_write, db
from ..models import ApiToken, RegionalUnit, StaffUser, Topic
from .audit import record_event

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères.")


def create_user(*, email: str, role: str, password: str, now: datetime, name: str | None = None,
                unit_code: str | None = None, phone: str | None = None, skills: list[str] | None = None,
                capacity: int = 1, actor: Actor | None = None, audit_action: str = "staff.created") -> StaffUser:
    email = email.strip().lower()
    if role not in ALL_ROLES:
        raise AccountError(f"Rôle inconnu « {role} » : {', '.join(ALL_ROLES)}.")
    check_password_strength(password)
    unit = None
    if unit_code:
        unit = db.session.scalar(select(RegionalUnit).where(RegionalUnit.code == unit_code))
        if unit is None:
            codes = ", ".join(db.session.scalars(select(RegionalUnit.code).order_by(RegionalUnit.id)))
            raise AccountError(f"Unité inconnue « {unit_code} » : {codes}.")
    if role in NEEDS_UNIT and unit is None:
        raise AccountError("Un agent ou un senior appartient à une unité (--unit).")
    if phone:
        try:
            phone = normalise_phone(phone)
        except IntakeError as error:
            raise AccountError(error.message) from None
    if capacity < 1:
        raise AccountError("La capacité est d'au moins 1 appel.")
    begin_write()
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        db.session.rollback()
        raise AccountError(f"Un compte existe déjà pour {email}.")
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
        raise AccountError("Le mot de passe actuel est incorrect.")
    check_password_strength(new)
    begin_write()
    user.set_password(new)
    user.session_version += 1  # other sessions end
    record_event(request_id=None, action="staff.password_changed", actor=Actor.staff(user.id), now=now,
                 staff_user_id=user.id)
    db.session.commit()


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
