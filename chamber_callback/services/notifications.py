"""Notifications to staff: in the app (the unread count, the page) and by e-mail.

A notification is a row of the transaction that causes it (an escalation level, an alert lifted);
its e-mail is sent after that commit, claimed first so no two workers send it, and retried a few
times when the mail server fails. The texts are in ``domain.messages``.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, or_, select, update

from ..clock import utcnow
from ..domain import messages as texts
from ..domain.escalation import EscalationLevel
from ..domain.roles import Role
from ..extensions import begin_write, db
from ..formatting import local_datetime
from ..models import CallbackRequest, Notification, StaffUser
from ..notify import get_mailer
from ..notify.email import MailError
from .unit_of_work import unit_of_work

log = logging.getLogger(__name__)
MAX_EMAIL_ATTEMPTS = 5
SENDING_TIMEOUT = timedelta(minutes=10)


def staff_language():
    """Staff have no language of their own yet: what is written to them (stored, e-mailed later) is
    in the chamber's default language, whoever's action caused it."""
    return force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "fr")


def when(moment: datetime) -> str:
    return local_datetime(moment, "long")  # « jeudi 3 décembre à 14h05 », in the reader's language


class Recipients:
    """Seniors per unit and managers, looked up once per tick."""

    def __init__(self):
        self._cache: dict[tuple[str, int | None], list[int]] = {}

    def for_role(self, role: str, unit_id: int) -> list[int]:
        key = (role, unit_id if role == Role.SENIOR else None)
        if key not in self._cache:
            query = select(StaffUser.id).where(StaffUser.role == role, StaffUser.is_active_account.is_(True))
            if role == Role.SENIOR:
                query = query.where(StaffUser.unit_id == unit_id)
            found = list(db.session.scalars(query))
            if not found and role == Role.SENIOR:
                found = self.for_role(Role.MANAGER, unit_id)  # a unit without a senior: managers hear of it
            self._cache[key] = found
        return self._cache[key]


def notify(user_id: int, request: CallbackRequest, escalation_id: int | None, kind: str, title: str, body: str,
           now: datetime) -> Notification:
    """Add a notification (and its e-mail to send) to the caller's transaction."""
    notification = Notification(user_id=user_id, request_id=request.id, escalation_id=escalation_id, kind=kind,
                                title=title, body=body, created_at=now, email_status="pending", email_attempts=0)
    db.session.add(notification)
    db.session.flush()
    return notification


def notify_level(request: CallbackRequest, level: EscalationLevel, escalation_id: int, now: datetime,
                 recipients: Recipients) -> list[Notification]:
    """Tell whoever the level names (the unit's senior, the managers) that the request waits."""
    if not level.notify:
        return []
    with staff_language():
        title = texts.escalation_title(level.code, request.reference)
        body = texts.escalation_body(request.reference, request.topic.label, request.unit.name,
                                     when(request.sla_deadline))
    return [notify(user_id, request, escalation_id, f"escalation.{level.code}", title, body, now)
            for role in level.notify for user_id in recipients.for_role(role, request.unit_id)]


def notify_resolved(request: CallbackRequest, now: datetime, what: str) -> None:
    """Whoever was told about the request's escalations is told it is over."""
    told = set(db.session.scalars(select(Notification.user_id).where(
        Notification.request_id == request.id, Notification.kind.like("escalation.%"),
        Notification.kind != "escalation.resolved")))
    with staff_language():
        title, body = texts.resolved_title(request.reference, what), texts.resolved_body(request.reference, what,
                                                                                         when(now))
    for user_id in told:
        notify(user_id, request, None, "escalation.resolved", title, body, now)


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)))


def latest(user_id: int, limit: int = 200) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)
                                   .order_by(Notification.id.desc()).limit(limit)))


def mark_all_read(user_id: int, now: datetime) -> None:
    with unit_of_work():
        db.session.execute(update(Notification).where(Notification.user_id == user_id,
                                                      Notification.read_at.is_(None)).values(read_at=now)
                           .execution_options(synchronize_session=False))


# --- e-mail delivery, after commit ----------------------------------------------------------------

def send_pending_emails(notification_ids: list[int] | None = None, limit: int = 200) -> dict[str, int]:
    """E-mail notifications not sent yet (or failed, a few times at most).

    Each message is claimed first (pending/failed → sending, in its own transaction), so two
    workers never send the same one; a claim older than ``SENDING_TIMEOUT`` (a worker killed
    mid-send) may be taken again.
    """
    now = utcnow()
    retry = or_(Notification.email_status.in_(("pending", "failed")),
                (Notification.email_status == "sending") & (Notification.emailed_at < now - SENDING_TIMEOUT))
    query = select(Notification.id).where(retry, Notification.email_attempts < MAX_EMAIL_ATTEMPTS)
    if notification_ids is not None:
        if not notification_ids:
            return {"sent": 0, "failed": 0}
        query = query.where(Notification.id.in_(notification_ids))
    candidates = db.session.scalars(query.order_by(Notification.id).limit(limit)).all()
    db.session.commit()
    mailer, counts = get_mailer(), {"sent": 0, "failed": 0}
    for notification_id in candidates:
        begin_write()
        claimed = db.session.execute(
            update(Notification).where(Notification.id == notification_id, retry)
            .values(email_status="sending", email_attempts=Notification.email_attempts + 1, emailed_at=now)
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if not claimed:
            continue  # another worker has it
        notification = db.session.get(Notification, notification_id, populate_existing=True)
        ok = True
        try:
            mailer.send(notification.user.email, notification.title, notification.body)
        except MailError as exc:
            ok = False
            log.warning("e-mail for notification %s failed: %s", notification_id, type(exc).__name__)
        begin_write()
        db.session.execute(update(Notification).where(Notification.id == notification_id).values(
            email_status="sent" if ok else "failed", emailed_at=utcnow() if ok else None)
            .execution_options(synchronize_session=False))
        db.session.commit()
        counts["sent" if ok else "failed"] += 1
    return counts
