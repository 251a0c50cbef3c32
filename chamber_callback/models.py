"""Database models (SQLAlchemy 2 typed). The database is the source of truth."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .domain.lifecycle import ACTIVE_SQL, Status
from .extensions import db
from .types import UTCDateTime


class RegionalUnit(db.Model):
    """A regional unit of agents led by a senior."""

    __tablename__ = "regional_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))

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
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED.value)

    name: Mapped[str] = mapped_column(String(120))
    business_name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str | None] = mapped_column(String(14), index=True)
    sector: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    postal_code: Mapped[str] = mapped_column(String(5))
    commune_insee: Mapped[str] = mapped_column(String(5))
    commune_name: Mapped[str] = mapped_column(String(100))
    departement_code: Mapped[str] = mapped_column(ForeignKey("departements.code"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("regional_units.id"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    description: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency_reason: Mapped[str | None] = mapped_column(String(32))
    preferred_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    preferred_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(16), default="web")  # web | api

    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sla_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set once the assignment job is in Redis; NULL means the reconciler must enqueue it.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by the assignment job when it has processed the request.
    assignment_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    unit: Mapped[RegionalUnit] = relationship()
    topic: Mapped[Topic] = relationship()
    departement: Mapped[Departement] = relationship()
    events: Mapped[list[AuditEvent]] = relationship(
        back_populates="request", order_by="AuditEvent.id", passive_deletes=True
    )

    __table_args__ = (
        # One active request per phone number, enforced by the database.
        Index("uq_callback_requests_active_phone", "phone", unique=True,
              sqlite_where=text(ACTIVE_SQL), postgresql_where=text(ACTIVE_SQL)),
        # The queue: waiting requests, urgent first, then earliest deadline.
        Index("ix_callback_requests_queue", "status", "urgent", "sla_deadline"),
        Index("ix_callback_requests_unit_queue", "unit_id", "status", "sla_deadline"),
        Index("ix_callback_requests_status_deadline", "status", "sla_deadline"),
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
    actor_type: Mapped[str] = mapped_column(String(16))  # artisan | api | agent | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict | None] = mapped_column(JSON)

    request: Mapped[CallbackRequest | None] = relationship(back_populates="events")

    __table_args__ = (Index("ix_audit_events_request", "request_id", "id"),)
