"""Many rows in one statement (``insert_many``, ``update_many``): the same result on SQLite and PostgreSQL."""
from datetime import timedelta

from sqlalchemy import select

from chamber_callback.domain.actors import SYSTEM
from chamber_callback.extensions import db, insert_many, update_many
from chamber_callback.models import AuditEvent, CallbackRequest, Escalation
from tests.integration.helpers import T0, make_request


def test_update_many_writes_each_row_its_own_values_and_nothing_else(app):
    first, second, untouched = (make_request(now=T0) for _ in range(3))
    before = untouched.next_escalation_at
    update_many(CallbackRequest, [
        {"id": first.id, "priority": 2, "overflow_at": T0, "next_escalation_at": None},
        {"id": second.id, "priority": 1, "overflow_at": None, "next_escalation_at": T0 + timedelta(hours=3)},
    ])
    db.session.commit()
    rows = db.session.execute(select(CallbackRequest.id, CallbackRequest.priority, CallbackRequest.overflow_at,
                                     CallbackRequest.next_escalation_at).order_by(CallbackRequest.id)).all()
    assert [tuple(row) for row in rows] == [(first.id, 2, T0, None),
                                            (second.id, 1, None, T0 + timedelta(hours=3)),
                                            (untouched.id, 0, None, before)]
    update_many(CallbackRequest, [])  # nothing to write: no statement


def test_insert_many_returns_only_the_rows_it_created(app):
    first, second = make_request(now=T0), make_request(now=T0)
    rows = [{"request_id": first.id, "level": "half"}, {"request_id": second.id, "level": "half"}]
    key = {"ignore_conflicts_on": ("request_id", "level"), "returning": ("request_id", "level")}
    assert sorted(insert_many(Escalation, rows[:1], {"fired_at": T0}, **key)) == [(first.id, "half")]
    assert sorted(insert_many(Escalation, rows, {"fired_at": T0}, **key)) == [(second.id, "half")]  # first: a conflict
    db.session.commit()
    assert db.session.scalars(select(Escalation.fired_at)).all() == [T0, T0]

    insert_many(AuditEvent, [{"request_id": first.id, "action": "sla.half", "data": {"priority": 1}},
                             {"request_id": second.id, "action": "sla.half", "data": None}],
                {"created_at": T0, "actor_type": SYSTEM.type, "actor_id": SYSTEM.id})
    db.session.commit()
    events = db.session.execute(select(AuditEvent.request_id, AuditEvent.created_at, AuditEvent.actor_type,
                                       AuditEvent.data).where(AuditEvent.action == "sla.half")
                                .order_by(AuditEvent.id)).all()
    assert [tuple(event) for event in events] == [(first.id, T0, SYSTEM.type, {"priority": 1}),
                                                  (second.id, T0, SYSTEM.type, None)]
    assert insert_many(AuditEvent, []) == []
