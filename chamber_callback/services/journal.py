"""The administration journal: admin changes and CSV exports, newest first, a page at a time."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import AuditEvent, StaffUser

PAGE_SIZE = 50


@dataclass(frozen=True)
class JournalPage:
    events: list[AuditEvent]
    people: dict[int, StaffUser]  # the staff the events name (who acted, whose account changed)
    page: int
    pages: int
    total: int


def journal_page(page: int, size: int = PAGE_SIZE) -> JournalPage:
    """Page ``page`` (clamped to the pages there are) of the admin changes and the exports (who took
    which data out, with or without personal data)."""
    query = select(AuditEvent).where(or_(AuditEvent.action.like("admin.%"), AuditEvent.action.like("export.%")))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    events = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).offset((page - 1) * size).limit(size)))
    ids = {e.actor.staff_user_id for e in events} | {e.staff_user_id for e in events}
    ids.discard(None)
    people = {u.id: u for u in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))} if ids else {}
    return JournalPage(events, people, page, pages, total)
