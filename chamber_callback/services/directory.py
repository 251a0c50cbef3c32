"""Read-only lookups of the chamber's organisation for the administration pages: units, topics,
staff accounts and what the home page counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from ..domain.roles import TAKES_CALLS, Role
from ..extensions import db
from ..models import ClosedDay, RegionalUnit, StaffUser, Topic


def units() -> list[RegionalUnit]:
    return list(db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.name)))


def topics(active_only: bool = False) -> list[Topic]:
    query = select(Topic).order_by(Topic.position, Topic.id)
    return list(db.session.scalars(query.where(Topic.active.is_(True)) if active_only else query))


def staff(unit_id: int | None = None, role: str | None = None) -> list[StaffUser]:
    """Accounts, active ones first, optionally of one unit or one role."""
    query = select(StaffUser).order_by(StaffUser.is_active_account.desc(), StaffUser.name)
    if unit_id:
        query = query.where(StaffUser.unit_id == unit_id)
    if role:
        query = query.where(StaffUser.role == role)
    return list(db.session.scalars(query))


def unit_members(unit_id: int) -> list[StaffUser]:
    """The unit's active call takers (who may become its senior)."""
    return list(db.session.scalars(select(StaffUser).where(
        StaffUser.unit_id == unit_id, StaffUser.role.in_(TAKES_CALLS),
        StaffUser.is_active_account.is_(True)).order_by(StaffUser.name)))


def unit_seniors(unit_id: int) -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).where(
        StaffUser.unit_id == unit_id, StaffUser.role == Role.SENIOR, StaffUser.is_active_account.is_(True))
        .order_by(StaffUser.name)))


@dataclass(frozen=True)
class Overview:
    users: int
    units: int
    topics: int
    closed_days: int  # from today on
    units_without_senior: list[RegionalUnit]


def overview(today: date) -> Overview:
    """What the administration home page counts."""
    def count(query):
        return db.session.scalar(query)
    return Overview(
        users=count(select(func.count()).select_from(StaffUser).where(StaffUser.is_active_account.is_(True))),
        units=count(select(func.count()).select_from(RegionalUnit)),
        topics=count(select(func.count()).select_from(Topic).where(Topic.active.is_(True))),
        closed_days=count(select(func.count()).select_from(ClosedDay).where(ClosedDay.day >= today)),
        units_without_senior=[unit for unit in units() if not unit_seniors(unit.id)])
