"""Reference data that every submission reads, shared by a process for a few seconds.

The active topics, the départements with their unit, and the admins' settings change a few times
a year but were read by every submission (five queries of the twenty it took). Each process now
keeps them for ``REFERENCE_CACHE_SECONDS`` (5 s by default; 0 reads them every time, as the tests
do). A commit that changes a topic, a département, a unit or a setting forgets them at once in
the process that made it, whatever made it (an admin page, the CLI, a migration's seed); the other
processes read them again within the period.

What is kept are plain values (``TopicRef``, ``DepartementRef``, dicts), never ORM objects, so
that no session's object outlives its session.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Departement, RegionalUnit, Setting, Topic
from ..process_cache import ProcessCache

WATCHED = (Topic, Departement, RegionalUnit, Setting)
_CHANGED = "chamber_callback.reference_changed"


@dataclass(frozen=True)
class TopicRef:
    id: int
    code: str
    label: str
    active: bool


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class DepartementRef:
    code: str
    name: str
    unit_id: int


_cache = ProcessCache()


def shared(name: str, load: Callable[[], object]):
    """``load()``'s value, kept for ``REFERENCE_CACHE_SECONDS`` in this process."""
    key = (id(current_app._get_current_object()), name)
    return _cache.get(key, current_app.config.get("REFERENCE_CACHE_SECONDS", 0), load)


def forget() -> None:
    """Read everything again next time (this process)."""
    _cache.clear()


def topics() -> tuple[TopicRef, ...]:
    """Every topic, retired ones included, in the admins' order."""
    def load():
        rows = db.session.execute(select(Topic.id, Topic.code, Topic.label, Topic.active)
                                  .order_by(Topic.position, Topic.id))
        return tuple(TopicRef(*row) for row in rows)
    return shared("topics", load)


def active_topics() -> list[TopicRef]:
    """The topics artisans may choose, in the admins' order."""
    return [topic for topic in topics() if topic.active]


def active_topic(code: str) -> TopicRef | None:
    return _found(lambda: next((topic for topic in topics() if topic.code == code and topic.active), None))


def _found(lookup: Callable[[], object]):
    """``lookup()``, read again from the database when it finds nothing (another process may have
    created the row within the period)."""
    value = lookup()
    if value is None:
        forget()
        value = lookup()
    return value


def topic_code(topic_id: int) -> str | None:
    return _found(lambda: next((topic.code for topic in topics() if topic.id == topic_id), None))


def units() -> dict[int, UnitRef]:
    return shared("units", lambda: {row.id: UnitRef(*row) for row in db.session.execute(
        select(RegionalUnit.id, RegionalUnit.code, RegionalUnit.name))})


def unit_code(unit_id: int) -> str | None:
    unit = _found(lambda: units().get(unit_id))
    return unit.code if unit else None


def departements() -> dict[str, DepartementRef]:
    def load():
        rows = db.session.execute(select(Departement.code, Departement.name, Departement.unit_id))
        return {row.code: DepartementRef(*row) for row in rows}
    return shared("departements", load)


def departement(code: str) -> DepartementRef | None:
    return _found(lambda: departements().get(code))


def setting_overrides() -> dict:
    """The admins' settings (``services.settings`` reads them through here)."""
    return shared("settings", lambda: {key: value for key, value in db.session.execute(
        select(Setting.key, Setting.value))})


# --- forgetting on commit --------------------------------------------------------------------------

@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context, instances) -> None:
    if not session.info.get(_CHANGED) and any(
            isinstance(item, WATCHED) for item in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        forget()


@event.listens_for(Session, "after_soft_rollback")
def _keep_on_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction: nothing it changed was kept
        session.info.pop(_CHANGED, None)
