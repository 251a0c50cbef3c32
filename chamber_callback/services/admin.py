"""Crisis administration: staff accounts, units, topics. Each change is one transaction with its
audit event (``admin.*``, data ``{"changes": {field: {"old": …, "new": …}}}``); passwords never
appear in an event."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, time

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..domain.actors import Actor
from ..domain.intake import IntakeError, normalise_phone, one_line
from ..domain.roles import (
    ADMINISTERS,
    ALL_ROLES,
    MANAGES_PRIVILEGED_ACCOUNTS,
    NEEDS_UNIT,
    PRIVILEGED_ROLES,
    TAKES_CALLS,
    Role,
)
from ..domain.routing import Availability
from ..extensions import begin_write, db
from ..models import Departement, RegionalUnit, StaffUser, Topic
from .audit import record_event
from .staff import AccountError, check_password_strength, create_user

MAX_CAPACITY = 10
TOPIC_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{1,31}")
WEEKDAYS = range(7)


class AdminError(ValueError):
    """Refused change: ``field`` says which form field the French message belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _audit(action: str, actor: Actor, now: datetime, changes: dict, staff_user_id: int | None = None) -> None:
    record_event(request_id=None, action=action, actor=actor, now=now, staff_user_id=staff_user_id,
                 data={"changes": changes})


def _label(value: str | None, field: str, message: str, max_length: int = 200) -> str:
    """A name or label typed by an admin: one line, not empty, ``max_length`` characters at most."""
    value = one_line(value or "")
    if not value or len(value) > max_length:
        raise AdminError(message, field)
    return value


def _diff(old: dict, new: dict) -> dict:
    return {key: {"old": old[key], "new": new[key]} for key in new if old.get(key) != new[key]}


# --- users ---------------------------------------------------------------------------------------------

def _check_user_fields(role: str, unit: RegionalUnit | None, phone: str | None, capacity: int) -> str | None:
    if role not in ALL_ROLES:
        raise AdminError(_("Rôle inconnu."), "role")
    if role in NEEDS_UNIT and unit is None:
        raise AdminError(_("Un agent ou un senior appartient à une unité."), "unit_id")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise AdminError(_("La capacité va de 1 à %(n)d appels en même temps.", n=MAX_CAPACITY), "capacity")
    if phone:
        try:
            return normalise_phone(phone)
        except IntakeError as error:
            raise AdminError(_(error.message, **error.params), "phone") from None
    return None


def check_may_manage(actor: Actor, *roles: str) -> None:
    """Managers run the crisis cell; only an admin handles an admin's or the DPO's account, or gives
    those roles (``domain.roles.PRIVILEGED_ROLES``)."""
    if not set(roles) & PRIVILEGED_ROLES or actor.staff_user_id is None:
        return
    acting = db.session.get(StaffUser, actor.staff_user_id)
    if acting is None or acting.role not in MANAGES_PRIVILEGED_ACCOUNTS:
        raise AdminError(_("Seul un administrateur peut gérer un compte d'administrateur ou de délégué à la "
                           "protection des données."), "role")


def _unit(unit_id: int | None) -> RegionalUnit | None:
    if not unit_id:
        return None
    unit = db.session.get(RegionalUnit, unit_id)
    if unit is None:
        raise AdminError(_("Unité inconnue."), "unit_id")
    return unit


def admin_create_user(*, email: str, name: str, role: str, unit_id: int | None, phone: str | None,
                      capacity: int, skill_codes: list[str], password: str | None, actor: Actor,
                      now: datetime) -> tuple[StaffUser, str]:
    """A new account; returns it with its first password (typed by the admin, or generated)."""
    check_may_manage(actor, role)
    unit = _unit(unit_id)
    phone = _check_user_fields(role, unit, phone, capacity)
    generated = not password
    password = password or generate_password()
    try:
        user = create_user(email=email, role=role, password=password, now=now, name=name,
                           unit_code=unit.code if unit else None, phone=phone, skills=skill_codes,
                           capacity=capacity, actor=actor, audit_action="admin.user_created")
    except AccountError as error:
        field = error.field or "email"
        raise AdminError(str(error), None if generated and field == "password" else field) from None
    return user, password


def _user_snapshot(user: StaffUser) -> dict:
    return {"name": user.name, "role": user.role, "unit": user.unit.code if user.unit else None,
            "phone": user.phone, "capacity": user.capacity, "skills": sorted(t.code for t in user.skills)}


def update_user(user_id: int, *, name: str, role: str, unit_id: int | None, phone: str | None, capacity: int,
                skill_codes: list[str], actor: Actor, now: datetime) -> dict:
    """Change an account's profile; returns the changes (nothing written when there are none)."""
    from . import assignment

    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise AdminError(_("Compte introuvable."))
    check_may_manage(actor, user.role, role)
    name = (name or "").strip()
    if not name:
        raise AdminError(_("Indiquez un nom."), "name")
    unit = _unit(unit_id)
    phone = _check_user_fields(role, unit, phone, capacity)
    if user.id == actor.staff_user_id and role not in ADMINISTERS:
        raise AdminError(_("Vous ne pouvez pas retirer vos propres droits d'administration."), "role")
    leaves_calls = user.role in TAKES_CALLS and (role not in TAKES_CALLS or (unit and unit.id != user.unit_id))
    if leaves_calls and user.availability != Availability.OFFLINE.value:
        # Its offers and undialled calls go back to the queue before it changes job or unit.
        assignment.set_availability(user, Availability.OFFLINE, now, actor=actor)
    before = _user_snapshot(user)
    begin_write()
    user = db.session.get(StaffUser, user_id)
    topics = db.session.scalars(select(Topic).where(Topic.code.in_(skill_codes))).all()
    user.name, user.role, user.phone, user.capacity = name, role, phone, capacity
    user.unit_id = unit.id if unit else None
    user.skills = list(topics)
    changes = _diff(before, {"name": name, "role": role, "unit": unit.code if unit else None, "phone": phone,
                             "capacity": capacity, "skills": sorted(t.code for t in topics)})
    if changes:
        _audit("admin.user_updated", actor, now, changes, staff_user_id=user.id)
    db.session.commit()
    return changes


def set_account_active(user_id: int, active: bool, *, actor: Actor, now: datetime) -> bool:
    """Deactivate (sessions and tokens stop working, held calls go back to the queue) or reactivate."""
    from . import assignment

    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise AdminError(_("Compte introuvable."))
    if not active and user.id == actor.staff_user_id:
        raise AdminError(_("Vous ne pouvez pas désactiver votre propre compte."))
    check_may_manage(actor, user.role)
    if user.is_active_account == active:
        return False
    if not active and user.role in TAKES_CALLS:
        assignment.set_availability(user, Availability.OFFLINE, now, actor=actor)
    begin_write()
    user = db.session.get(StaffUser, user_id)
    user.is_active_account = active
    if not active:
        user.session_version += 1  # its open sessions end now
    _audit("admin.user_activated" if active else "admin.user_deactivated", actor, now,
           {"active": {"old": not active, "new": active}}, staff_user_id=user.id)
    db.session.commit()
    return True


def generate_password() -> str:
    """Four random words' worth of entropy (96 bits), easy to type once."""
    return "-".join(secrets.token_urlsafe(4) for _ in range(4))


def reset_password(user_id: int, password: str | None, *, actor: Actor, now: datetime) -> str:
    """Set a new password (typed, or generated to be shown once); every session of the user ends."""
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise AdminError(_("Compte introuvable."))
    check_may_manage(actor, user.role)
    password = password or generate_password()
    try:
        check_password_strength(password, user.email, user.name)
    except AccountError as error:
        raise AdminError(str(error), "password") from None
    begin_write()
    user = db.session.get(StaffUser, user_id)
    user.set_password(password)
    user.session_version += 1
    _audit("admin.password_reset", actor, now, {"password": {"old": None, "new": "password reset"}},
           staff_user_id=user.id)
    db.session.commit()
    return password


# --- units ---------------------------------------------------------------------------------------------

def rename_unit(unit_id: int, name: str, *, actor: Actor, now: datetime) -> dict:
    name = _label(name, "name", _("Indiquez un nom (200 caractères au plus)."))
    begin_write()
    unit = db.session.get(RegionalUnit, unit_id)
    if unit is None:
        db.session.rollback()
        raise AdminError(_("Unité inconnue."))
    changes = _diff({"name": unit.name}, {"name": name})
    if changes:
        unit.name = name
        _audit("admin.unit_updated", actor, now, changes | {"unit": {"old": unit.code, "new": unit.code}})
    db.session.commit()
    return changes


def parse_opening_hours(rows: dict[int, tuple[bool, str, str]]) -> dict[str, list[str]]:
    """``{weekday: (closed, "HH:MM", "HH:MM")}`` → the stored form; AdminError names the bad day's field."""
    hours = {}
    for day in WEEKDAYS:
        closed, start, end = rows[day]
        if closed:
            continue
        parsed = []
        for which, text in (("open", start), ("close", end)):
            text = (text or "").strip()
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
                raise AdminError(_("Heure attendue au format HH:MM, par exemple 08:00 (ou cochez « fermé »)."),
                                 f"day{day}_{which}")
            parsed.append(time.fromisoformat(text))
        if parsed[0] >= parsed[1]:
            raise AdminError(_("L'ouverture doit précéder la fermeture."), f"day{day}_close")
        hours[str(day)] = [start.strip(), end.strip()]
    if not hours:
        raise AdminError(_("Ouvrez au moins un jour : sans horaires, le délai de rappel ne s'écoulerait jamais."),
                         "day0_closed")
    return hours


def set_opening_hours(unit_id: int, hours: dict[str, list[str]], *, actor: Actor, now: datetime) -> int:
    """Store the unit's weekly hours; waiting requests of the unit get their deadline recomputed
    (business-hours clock). Returns how many deadlines moved."""
    from .sla import opening_hours, recompute_waiting_deadlines

    begin_write()
    unit = db.session.get(RegionalUnit, unit_id)
    if unit is None:
        db.session.rollback()
        raise AdminError(_("Unité inconnue."))
    old = {str(day): [start.strftime("%H:%M"), end.strftime("%H:%M")] for day, (start, end) in
           sorted(opening_hours(unit).items())}
    if old == hours:
        db.session.rollback()
        return 0
    unit.opening_hours = hours
    _audit("admin.unit_updated", actor, now, {"opening_hours": {"old": old, "new": hours},
                                              "unit": {"old": unit.code, "new": unit.code}})
    db.session.commit()
    return recompute_waiting_deadlines(now, unit_id)


def move_departement(code: str, unit_id: int, *, actor: Actor, now: datetime) -> bool:
    """New requests of that département go to another unit (requests already routed keep theirs)."""
    begin_write()
    departement = db.session.get(Departement, code)
    unit = db.session.get(RegionalUnit, unit_id)
    if departement is None or unit is None:
        db.session.rollback()
        raise AdminError(_("Département ou unité inconnu."), "unit_id")
    if departement.unit_id == unit.id:
        db.session.rollback()
        return False
    old_code = departement.unit.code
    departement.unit_id = unit.id
    _audit("admin.departement_moved", actor, now, {f"departement {code}": {"old": old_code, "new": unit.code}})
    db.session.commit()
    return True


def make_senior(unit_id: int, user_id: int, *, replace: bool, actor: Actor, now: datetime) -> None:
    """Make an agent of the unit its senior; with ``replace`` the current senior(s) become agents."""
    begin_write()
    user = db.session.get(StaffUser, user_id)
    if user is None or user.unit_id != unit_id or user.role not in TAKES_CALLS or not user.is_active_account:
        db.session.rollback()
        raise AdminError(_("Choisissez un agent actif de cette unité."), "user_id")
    unit_code = user.unit.code
    if user.role != Role.SENIOR:
        user.role = Role.SENIOR.value
        _audit("admin.user_updated", actor, now, {"role": {"old": "agent", "new": "senior"},
                                                  "unit": {"old": unit_code, "new": unit_code}}, staff_user_id=user.id)
    if replace:
        for other in db.session.scalars(select(StaffUser).where(
                StaffUser.unit_id == unit_id, StaffUser.role == Role.SENIOR, StaffUser.id != user.id)).all():
            other.role = "agent"
            _audit("admin.user_updated", actor, now, {"role": {"old": "senior", "new": "agent"},
                                                      "unit": {"old": unit_code, "new": unit_code}},
                   staff_user_id=other.id)
    db.session.commit()


# --- topics --------------------------------------------------------------------------------------------

def create_topic(code: str, label: str, *, give_to_agents: bool, actor: Actor, now: datetime) -> Topic:
    """A new topic at the end of the list; the code is part of the API contract and never changes."""
    code = (code or "").strip().lower()
    if not TOPIC_CODE.fullmatch(code):
        raise AdminError(_("Code de 2 à 32 caractères : lettres minuscules sans accent, chiffres, - ou _."), "code")
    label = _label(label, "label", _("Indiquez un libellé (200 caractères au plus)."))
    begin_write()
    if db.session.scalar(select(Topic.id).where(Topic.code == code)):
        db.session.rollback()
        raise AdminError(_("Ce code existe déjà (les codes ne sont jamais réutilisés)."), "code")
    position = (db.session.scalar(select(func.max(Topic.position))) or 0) + 1
    topic = Topic(code=code, label=label, position=position, active=True)
    db.session.add(topic)
    db.session.flush()
    skilled = 0
    if give_to_agents:
        # Without a skilled agent a topic's requests would never be offered.
        for agent in db.session.scalars(select(StaffUser).where(StaffUser.role.in_(TAKES_CALLS))).all():
            agent.skills.append(topic)
            skilled += 1
    _audit("admin.topic_created", actor, now,
           {"topic": {"old": None, "new": {"code": code, "label": label, "active": True, "agents": skilled}}})
    db.session.commit()
    return topic


def update_topic(topic_id: int, *, label: str, active: bool, actor: Actor, now: datetime) -> dict:
    label = _label(label, "label", _("Indiquez un libellé (200 caractères au plus)."))
    begin_write()
    topic = db.session.get(Topic, topic_id)
    if topic is None:
        db.session.rollback()
        raise AdminError(_("Sujet introuvable."))
    if not active and topic.active and db.session.scalar(
            select(func.count()).select_from(Topic).where(Topic.active.is_(True))) <= 1:
        db.session.rollback()
        raise AdminError(_("Gardez au moins un sujet actif : le formulaire en a besoin."), "active")
    changes = _diff({"label": topic.label, "active": topic.active}, {"label": label, "active": active})
    if changes:
        topic.label, topic.active = label, active
        _audit("admin.topic_updated", actor, now, changes | {"code": {"old": topic.code, "new": topic.code}})
    db.session.commit()
    return changes


def move_topic(topic_id: int, direction: int, *, actor: Actor, now: datetime) -> bool:
    """Swap with the previous (-1) or next (+1) topic in the form's order."""
    begin_write()
    topics = list(db.session.scalars(select(Topic).order_by(Topic.position, Topic.id)))
    index = next((i for i, topic in enumerate(topics) if topic.id == topic_id), None)
    if index is None or not 0 <= index + direction < len(topics):
        db.session.rollback()
        return False
    old_order = [topic.code for topic in topics]
    topics[index], topics[index + direction] = topics[index + direction], topics[index]
    for position, topic in enumerate(topics, start=1):
        topic.position = position
    _audit("admin.topic_updated", actor, now, {"order": {"old": old_order, "new": [t.code for t in topics]}})
    db.session.commit()
    return True
