"""Database models (SQLAlchemy 2 typed). The database is the source of truth."""
from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .domain.actors import Actor
from .domain.lifecycle import ACTIVE_CALLBACK_SQL, ACTIVE_SQL, Status
from .domain.roles import TAKES_CALLS
from .domain.routing import Availability
from .extensions import db
from .types import UTCDateTime


class RegionalUnit(db.Model):
    """A regional unit of agents led by a senior."""

    __tablename__ = "regional_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # {"0": ["08:00", "21:00"], …} by weekday (Monday = 0); None: Monday–Saturday 08:00–21:00.
    opening_hours: Mapped[dict | None] = mapped_column(JSON)

    departements: Mapped[list[Departement]] = relationship(back_populates="unit", order_by="Departement.code")

    def __repr__(self) -> str:
        return f"<RegionalUnit {self.code}>"


class Departement(db.Model):
    """The département → regional unit mapping (metropolitan, 2A/2B and 971–976)."""

    __tablename__ = "departements"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int] = mapped_column(ForeignKey("regional_units.id"), index=True)

    unit: Mapped[RegionalUnit] = relationship(back_populates="departements")


class Topic(db.Model):
    """What the artisan wants to talk about; the code is part of the API contract."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CallbackRequest(db.Model):
    """An artisan's request to be called back."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(9), unique=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # The link sent in a reminder (a second submission for the same phone); the first one still works.
    reminder_token_digest: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED.value)

    name: Mapped[str] = mapped_column(String(120))
    business_name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str | None] = mapped_column(String(14), index=True)
    sector: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    postal_code: Mapped[str] = mapped_column(String(5))
    commune_insee: Mapped[str | None] = mapped_column(String(5))  # None: several communes, none chosen
    commune_name: Mapped[str | None] = mapped_column(String(100))
    departement_code: Mapped[str] = mapped_column(ForeignKey("departements.code"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("regional_units.id"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    description: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    no_sms: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())  # e-mail only
    urgency_reason: Mapped[str | None] = mapped_column(String(32))
    preferred_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    preferred_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # web | api | phone | web:<partner> (the partner sites' button) | campaign (a campaign's contact)
    channel: Mapped[str] = mapped_column(String(40), default="web")
    # A campaign's contact: called through the same engine, but not a callback request (no SLA,
    # no figures of the callback queue; ``services.campaigns.CALLBACKS`` is the filter).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # The campaign contact a callback request was made from (its calls and answers are its history).
    origin_request_id: Mapped[int | None] = mapped_column(ForeignKey("callback_requests.id", ondelete="SET NULL"))

    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: informed, not asked
    # The language the artisan used (« fr », « en »): its text messages and e-mails are written in it.
    locale: Mapped[str | None] = mapped_column(String(8))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sla_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the request was handed to Redis (written with the request, before the enqueue: the
    # reconciler checks that its job exists); NULL means the reconciler must enqueue it.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by the assignment job when it has processed the request (reset when it is queued again).
    assignment_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Assignment state
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last time it (re-)entered the queue
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    preferred_agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    overflow_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # any unit may take it from then on
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # retry_wait / scheduled
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # SLA tracking, written once when it happens (reports never recompute it)
    first_reached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_met: Mapped[bool | None] = mapped_column(Boolean)  # None until the first attempt (or reach)
    sla_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    time_to_first_attempt_s: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # raised by escalation
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: nothing left to do
    # The expected callback window (domain.eta), recomputed by the periodic job; the first one told
    # to the artisan (delay notices compare with it); the one in force when the first call started
    # (the calibration: was the call inside the window announced?).
    eta_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta_reason: Mapped[str | None] = mapped_column(String(16))
    eta_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta_told_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    announced_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    announced_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    announced_width_s: Mapped[int | None] = mapped_column(Integer)
    # Personal data erased after the retention period (figures for reports are kept).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[RegionalUnit] = relationship()
    topic: Mapped[Topic] = relationship()
    departement: Mapped[Departement] = relationship()
    assigned_agent: Mapped[StaffUser | None] = relationship(foreign_keys=[assigned_agent_id])
    attempts: Mapped[list[CallAttempt]] = relationship(back_populates="request", order_by="CallAttempt.id")
    events: Mapped[list[AuditEvent]] = relationship(
        back_populates="request", order_by="AuditEvent.id", passive_deletes=True
    )

    __table_args__ = (
        UniqueConstraint("reminder_token_digest", name="uq_callback_requests_reminder_token_digest"),
        # One active callback request per phone number, enforced by the database.
        Index("uq_callback_requests_active_phone", "phone", unique=True,
              sqlite_where=text(ACTIVE_CALLBACK_SQL), postgresql_where=text(ACTIVE_CALLBACK_SQL)),
        # A campaign calls a number once (importing the same file twice adds nothing).
        Index("uq_callback_requests_campaign_phone", "campaign_id", "phone", unique=True,
              sqlite_where=text("campaign_id IS NOT NULL"), postgresql_where=text("campaign_id IS NOT NULL")),
        # A campaign's contacts waiting, in the queue's order.
        Index("ix_callback_requests_campaign_queue", "campaign_id", "status", "unit_id"),
        # The request made from a contact (and deleting contacts: the foreign key is checked by it).
        Index("ix_callback_requests_origin", "origin_request_id"),
        # The queue: waiting requests, urgent first, then earliest deadline.
        Index("ix_callback_requests_queue", "status", "urgent", "sla_deadline"),
        Index("ix_callback_requests_unit_queue", "unit_id", "status", "sla_deadline"),
        Index("ix_callback_requests_status_deadline", "status", "sla_deadline"),
        Index("ix_callback_requests_status_next_attempt", "status", "next_attempt_at"),
        # The SLA tick reads only what is due: its cost follows the due items, not the table.
        Index("ix_callback_requests_next_escalation", "next_escalation_at"),
        # The dashboard and reports count time windows through these (services/stats); they carry
        # the columns counted and campaign_id (callback requests only), for index-only scans. Not the
        # one on first_attempt_at, which holds id: it would then cover the join of calls with their
        # requests, and PostgreSQL would read all of it (migration 0021).
        Index("ix_callback_requests_closed", "closed_at", "status", "unit_id", "campaign_id"),
        Index("ix_callback_requests_submitted_at", "submitted_at", "channel", "unit_id", "campaign_id"),
        Index("ix_callback_requests_sla_deadline", "sla_deadline", "sla_met", "closed_at", "unit_id", "campaign_id"),
        Index("ix_callback_requests_sla_met_at", "sla_met_at", "sla_met", "unit_id", "campaign_id"),
        Index("ix_callback_requests_first_attempt_at", "first_attempt_at", "id", "time_to_first_attempt_s", "sla_met",
              "unit_id"),
        # Active requests by deadline: the breached and at-risk lists.
        Index("ix_callback_requests_active_deadline", "sla_deadline",
              sqlite_where=text(ACTIVE_SQL), postgresql_where=text(ACTIVE_SQL)),
    )

    @property
    def is_active(self) -> bool:
        return Status(self.status) not in (Status.COMPLETED, Status.UNREACHABLE, Status.CANCELLED)

    def __repr__(self) -> str:
        return f"<CallbackRequest {self.reference} {self.status}>"


class AuditEvent(db.Model):
    """Who did what, when and why. A request's timeline is rebuilt from these rows.

    ``data`` never holds personal data (no names, phones or free text from the artisan).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[int | None] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"))
    # The staff member an event is about (availability changes, accounts), when it is one.
    # (Accounts are deactivated, never deleted.)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    actor_type: Mapped[str] = mapped_column(String(16))  # artisan | api | staff | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict | None] = mapped_column(JSON)

    request: Mapped[CallbackRequest | None] = relationship(back_populates="events")

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_type, self.actor_id)

    __table_args__ = (
        Index("ix_audit_events_request", "request_id", "id"),
        Index("ix_audit_events_staff_user", "staff_user_id", "id"),
    )


agent_skills = Table(
    "agent_skills",
    db.metadata,
    Column("user_id", ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
)


class StaffUser(UserMixin, db.Model):
    """An agent, senior, manager or admin of the chamber."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # agent | senior | manager | admin
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("regional_units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164, the line the agent answers at home
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    availability: Mapped[str] = mapped_column(String(16), default=Availability.OFFLINE.value)
    availability_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)  # expired in a row
    is_active_account: Mapped[bool] = mapped_column("active", Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Changes when the password changes: sessions opened before then are logged out.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Two-factor sign-in (TOTP): the shared secret once enrolled, and the last 30-second step used
    # (a code is accepted once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    unit: Mapped[RegionalUnit | None] = relationship()
    skills: Mapped[list[Topic]] = relationship(secondary=agent_skills, order_by="Topic.position")

    __table_args__ = (Index("ix_staff_users_availability", "availability", "unit_id"),)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def takes_calls(self) -> bool:
        return self.role in TAKES_CALLS

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.role}>"


class RecoveryCode(db.Model):
    """A single-use code that replaces the authenticator app once (stored as a digest)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RosterTemplate(db.Model):
    """An agent's usual hours on one weekday (Monday = 0), as its senior planned them."""

    __tablename__ = "roster_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[str] = mapped_column(String(5))  # "08:30", local time
    end: Mapped[str] = mapped_column(String(5))

    __table_args__ = (Index("uq_roster_templates_user_weekday", "user_id", "weekday", unique=True),)


class RosterDay(db.Model):
    """A day that differs from the template: other hours, or none (a day off)."""

    __tablename__ = "roster_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    start: Mapped[str | None] = mapped_column(String(5))  # both None: a day off
    end: Mapped[str | None] = mapped_column(String(5))

    __table_args__ = (Index("uq_roster_days_user_day", "user_id", "day", unique=True),
                      Index("ix_roster_days_day", "day"))


class InboundCall(db.Model):
    """A call to the chamber's line: how far it got in the menu, and the request it made.

    Twilio retries a step it got no answer to: the request is made once per call (``request_id``).
    """

    __tablename__ = "inbound_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str | None] = mapped_column(String(20))  # E.164; None when withheld
    step: Mapped[str] = mapped_column(String(24))  # the last step reached
    choices: Mapped[dict | None] = mapped_column(JSON)  # number, topic, urgency, postal code so far
    outcome: Mapped[str | None] = mapped_column(String(24))  # created | existing | refused | … (None: in the menu)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("callback_requests.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    request: Mapped[CallbackRequest | None] = relationship()

    __table_args__ = (Index("uq_inbound_calls_call_sid", "call_sid", unique=True),
                      Index("ix_inbound_calls_started_at", "started_at"))


class InboundMessage(db.Model):
    """A text message received (its keyword and what was done), kept once per Twilio MessageSid so
    that a redelivered webhook does nothing twice. The message's own text is not kept."""

    __tablename__ = "inbound_messages"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(16))  # cancel | stop | help
    outcome: Mapped[str] = mapped_column(String(24))
    reply: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SmsOptOut(db.Model):
    """A number that answered STOP: no text message is sent to it again."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(db.Model):
    """A personal API token (shown once, stored as a digest, revocable)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[StaffUser] = relationship()


class Offer(db.Model):
    """A request proposed to one agent, until accepted, declined or expired."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|accepted|declined|expired|withdrawn
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    request: Mapped[CallbackRequest] = relationship()
    agent: Mapped[StaffUser] = relationship()

    __table_args__ = (
        # At most one pending offer per request: a request is never offered to two agents.
        Index("uq_offers_pending_request", "request_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
        Index("ix_offers_status_expires", "status", "expires_at"),
        Index("ix_offers_agent_status", "agent_id", "status"),
        Index("ix_offers_request", "request_id", "id"),
    )


class CallAttempt(db.Model):
    """One call to the artisan by an agent, and its outcome."""

    __tablename__ = "call_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bridged calls (telephony adapter): each leg's latest status, as reported by the provider.
    call_sid: Mapped[str | None] = mapped_column(String(64))
    agent_status: Mapped[str | None] = mapped_column(String(16))
    artisan_call_sid: Mapped[str | None] = mapped_column(String(64))
    artisan_status: Mapped[str | None] = mapped_column(String(16))
    artisan_duration_s: Mapped[int | None] = mapped_column(Integer)
    answered_by: Mapped[str | None] = mapped_column(String(24))

    request: Mapped[CallbackRequest] = relationship(back_populates="attempts")
    agent: Mapped[StaffUser] = relationship()

    __table_args__ = (
        # A request never has two attempts in progress.
        Index("uq_call_attempts_in_progress", "request_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_call_attempts_request", "request_id", "id"),
        Index("uq_call_attempts_call_sid", "call_sid", unique=True),
        Index("ix_call_attempts_started_at", "started_at", "request_id", "agent_id"),
    )


class Escalation(db.Model):
    """A level reached by a request; the unique key makes each level fire once."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(24))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the request was called

    request: Mapped[CallbackRequest] = relationship()

    __table_args__ = (Index("uq_escalations_request_level", "request_id", "level", unique=True),)


class Notification(db.Model):
    """A message to a staff member: shown in the app, and e-mailed when ``email_status`` is set."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # escalation.senior, escalation.breach, escalation.resolved…
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_status: Mapped[str | None] = mapped_column(String(16))  # pending | sent | failed
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[StaffUser] = relationship()
    request: Mapped[CallbackRequest | None] = relationship()

    __table_args__ = (
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        Index("ix_notifications_email_status", "email_status"),
    )


class ClosedDay(db.Model):
    """A day the chamber does not answer (besides public holidays), for all units or one."""

    __tablename__ = "closed_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("regional_units.id", ondelete="CASCADE"))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    unit: Mapped[RegionalUnit | None] = relationship()

    __table_args__ = (Index("ix_closed_days_day", "day"),)


class CallEvent(db.Model):
    """One status callback, as received; duplicates are dropped by the unique key."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("call_attempts.id", ondelete="CASCADE"), index=True)
    leg: Mapped[str] = mapped_column(String(8))  # agent | artisan
    call_sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    answered_by: Mapped[str | None] = mapped_column(String(24))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("uq_call_events_sid_status", "call_sid", "status", unique=True),)


class ArtisanMessage(db.Model):
    """A text message or e-mail to the artisan (confirmation, unreachable, follow-up time).

    The address is read from the request when sending; only the channel and status are kept.
    """

    __tablename__ = "artisan_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # confirmation | unreachable | follow_up
    channel: Mapped[str | None] = mapped_column(String(8))  # sms | email (None: no way to reach them)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|delivered|undelivered|failed
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("uq_artisan_messages_request_kind", "request_id", "kind", unique=True),)


class Setting(db.Model):
    """A runtime override of a configuration value (SLA, escalation, crisis switches), set by an admin."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | list | str | int | float | bool | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class ReportSend(db.Model):
    """A report sent once per day (``kind``: prefecture_needs): the unique key is the claim.

    A run claims the day by inserting the row (or by taking over a claim released after a failure,
    or left by a process that died), sends to the addresses not in ``sent_to`` yet, and sets
    ``sent_at`` when every address got it.
    """

    __tablename__ = "report_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)  # the local day the report is about
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())  # renewed after each address sent
    claim_token: Mapped[str | None] = mapped_column(String(32))  # the run holding it; None: free to take
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # addresses sent to
    sent_to: Mapped[list | None] = mapped_column(JSON)  # those addresses (a retry skips them)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("uq_report_sends_kind_day", "kind", "day", unique=True),)


campaign_units = Table(
    "campaign_units",
    db.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("regional_units.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(db.Model):
    """Proactive calls: a list of artisans the chamber calls, with a script and a few questions.

    Its contacts are ``CallbackRequest`` rows with ``campaign_id`` set; the rules (when a campaign
    call may be offered, what its answers mean) are in ``domain/campaigns.py``.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))  # the subject of its calls and needs
    script: Mapped[str] = mapped_column(Text, default="")
    # [{"key": "q1", "label": "…", "kind": "yes_no|choice|number|text", "choices": ["…"]}] (five at most)
    questions: Mapped[list] = mapped_column(JSON, default=list)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    call_from: Mapped[str] = mapped_column(String(5), default="09:00")  # local time, every day of the period
    call_until: Mapped[str] = mapped_column(String(5), default="18:00")
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    retry_gap_minutes: Mapped[int] = mapped_column(Integer, default=120)
    # callbacks_first: offered only to an agent whose unit has no callback waiting; shared: alongside
    # callbacks. Either way at most ``agent_share`` % of a unit's agents are on its calls at once.
    priority: Mapped[str] = mapped_column(String(16), default="callbacks_first")
    agent_share: Mapped[int] = mapped_column(Integer, default=50)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused | closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    topic: Mapped[Topic] = relationship()
    units: Mapped[list[RegionalUnit]] = relationship(secondary=campaign_units, order_by="RegionalUnit.code")

    def __repr__(self) -> str:
        return f"<Campaign {self.id} {self.name!r}>"


class CampaignAnswer(db.Model):
    """A contact's answer to one of its campaign's questions (the latest one given)."""

    __tablename__ = "campaign_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))  # "oui"/"non", the choice, the number, the text
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("uq_campaign_answers_request_question", "request_id", "question_key", unique=True),
                      Index("ix_campaign_answers_campaign", "campaign_id", "question_key"))


class CampaignImport(db.Model):
    """One contacts file imported into a campaign: its progress and its report (no personal data)."""

    __tablename__ = "campaign_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    file_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | running | done | failed
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict | None] = mapped_column(JSON)  # counts, and errors by line number
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class CallOptOut(db.Model):
    """A number that asked « Ne plus m'appeler »: no campaign calls it again."""

    __tablename__ = "call_opt_outs"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))


class PushSubscription(db.Model):
    """A browser an agent asked to be notified on (Web Push): where the push service takes it."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
