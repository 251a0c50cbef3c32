"""The administration journal: admin changes and CSV exports, newest first, a page at a time."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import AuditEvent, CallbackRequest, StaffUser
from .retention import READ_ACTION

PAGE_SIZE = 50


@dataclass(frozen=True)
class JournalPage:
    events: list[AuditEvent]
    kind: str
    people: dict[int, StaffUser]  # the staff the events name (who acted, whose account changed)
    references: dict[int, str]  # request id → reference, for the reads of a request
    page: int
    pages: int
    total: int


KINDS = ("changes", "reads")


def journal_page(page: int, kind: str = "changes", size: int = PAGE_SIZE) -> JournalPage:
    """Page ``page`` (clamped to the pages there are) of the admin changes and the exports, or, with
    ``kind="reads"``, of who read or took out personal data (request cards opened, CSV exports, an
    artisan's data searched, exported or erased)."""
    if kind == "reads":
        condition = or_(AuditEvent.action == READ_ACTION, AuditEvent.action.like("admin.personal_data_%"),
                        AuditEvent.action.like("export.%"))
    else:
        condition = or_(AuditEvent.action.like("admin.%"), AuditEvent.action.like("export.%"))
    query = select(AuditEvent).where(condition)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    events = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).offset((page - 1) * size).limit(size)))
    ids = {e.actor.staff_user_id for e in events} | {e.staff_user_id for e in events}
    ids.discard(None)
    people = {u.id: u for u in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))} if ids else {}
    references = dict(db.session.execute(select(CallbackRequest.id, CallbackRequest.reference).where(
        CallbackRequest.id.in_({e.request_id for e in events} - {None}))).all()) if events else {}
    return JournalPage(events, kind, people, references, page, pages, total)
