"""One queue order (domain.queue) everywhere: the SQL that picks work, the artisan's position,
the team queue and the dashboard lists. A property test holds the SQL against the pure key."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from chamber_callback.domain.queue import queue_key
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, Departement, StaffUser, Topic
from chamber_callback.services.intake import queue_position
from chamber_callback.services.queue import ahead_of, queue_order
from tests.integration.helpers import T0, make_request, make_staff, reload
from tests.integration.test_staff_access import login

DEADLINES = [T0 + timedelta(hours=hours) for hours in (1, 5, 24)]  # few values: many ties

request_specs = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=0, max_value=2), st.sampled_from(DEADLINES),
              st.sampled_from([None, "promised", "other"])),
    min_size=1, max_size=12)


def _rows(specs, unit_id, topic_id, agents) -> list[CallbackRequest]:
    rows = []
    for index, (urgent, priority, deadline, promised) in enumerate(specs):
        digest = hashlib.sha256(f"{index}-{T0}".encode()).hexdigest()
        rows.append(CallbackRequest(
            reference=f"Q{index:07d}", token_digest=digest, status="queued", name="A", business_name="B",
            sector="services", phone=f"+3319901{index:04d}", postal_code="75011", departement_code="75",
            unit_id=unit_id, topic_id=topic_id, description="-", urgent=urgent, priority=priority,
            preferred_agent_id=agents.get(promised), consent_at=T0, submitted_at=T0, queued_at=T0,
            sla_deadline=deadline, channel="web"))
    db.session.add_all(rows)
    db.session.flush()
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=request_specs)
def test_sql_order_and_positions_follow_the_pure_key(app, specs):
    unit_id = db.session.get(Departement, "75").unit_id
    topic_id = db.session.scalar(select(Topic.id).where(Topic.code == "pge"))
    agent_ids = db.session.scalars(select(StaffUser.id).order_by(StaffUser.id).limit(2)).all()
    if len(agent_ids) < 2:
        agent_ids = [make_staff().id, make_staff().id]
    agents = {"promised": agent_ids[0], "other": agent_ids[1]}
    try:
        rows = _rows(specs, unit_id, topic_id, agents)
        ids = [row.id for row in rows]
        for agent_id in (None, agents["promised"]):
            in_sql = db.session.scalars(select(CallbackRequest.id).where(CallbackRequest.id.in_(ids))
                                        .order_by(*queue_order(agent_id))).all()
            pure = [row.id for row in sorted(rows, key=lambda row: queue_key(row, agent_id))]
            assert in_sql == pure
        for place, row in enumerate(sorted(rows, key=queue_key)):
            ahead = db.session.scalar(select(func.count()).select_from(CallbackRequest).where(
                CallbackRequest.id.in_(ids), CallbackRequest.id != row.id, ahead_of(row)))
            assert ahead == place
    finally:
        db.session.rollback()


def test_an_escalated_request_is_told_it_passes_the_others(app):
    """Before: the status page ignored escalation priority and said the escalated request waited
    behind two earlier deadlines that it will in fact pass."""
    first = make_request(now=T0 - timedelta(hours=3))
    second = make_request(now=T0 - timedelta(hours=2))
    escalated = make_request(now=T0 - timedelta(hours=1))
    escalated.priority = 1  # 50 % of its SLA used
    db.session.commit()
    assert queue_position(reload(escalated)) == 0
    assert queue_position(reload(first)) == 1
    assert queue_position(reload(second)) == 2
    urgent = make_request(now=T0, urgent=True)
    assert queue_position(reload(urgent)) == 0  # urgent passes a raised one
    escalated = reload(escalated)
    escalated.priority = 2  # breached, or put at the head by a manager
    db.session.commit()
    assert queue_position(reload(escalated)) == 0 and queue_position(reload(urgent)) == 1


def test_the_team_queue_lists_requests_in_the_order_they_will_be_served(app):
    """Before: the team queue sorted urgent then deadline, ignoring escalation priority."""
    senior = make_staff(role="senior", availability="offline")
    plain = make_request(now=T0 - timedelta(hours=3))
    raised = make_request(now=T0 - timedelta(hours=1))
    raised.priority = 1
    db.session.commit()
    client = app.test_client()
    login(client, senior)
    page = client.get("/equipe").get_data(as_text=True)
    assert page.index(raised.reference) < page.index(plain.reference)


def _board_tiles(page: str) -> tuple[str, str]:
    at_risk = page.split('data-tile="at-risk">')[1].split("<")[0]
    breached = page.split('data-tile="breached">')[1].split("<")[0]
    return at_risk, breached


def test_team_queue_and_dashboard_count_at_risk_and_breached_alike(app, freeze_clock):
    """Before: the team queue's « à risque » list also held breached requests, and its colours
    used fixed 50 % / 75 % thresholds whatever the configured levels."""
    from chamber_callback.domain.actors import Actor
    from chamber_callback.services import settings
    from chamber_callback.services.sla import sla_tick

    freeze_clock(T0)
    settings.update({"ESCALATION_LEVELS": "half@40:raise; senior@60:raise,senior; breach@100:top,manager,overflow"},
                    Actor("system"), T0)
    breached = make_request(now=T0 - timedelta(hours=25))
    at_risk = make_request(now=T0 - timedelta(hours=15.6))  # 65 %: at risk from 60 % with these levels
    raised = make_request(now=T0 - timedelta(hours=10.5))  # 44 %
    fresh = make_request(now=T0 - timedelta(hours=1))
    sla_tick(T0)
    senior = make_staff(role="senior", availability="offline")
    client = app.test_client()
    login(client, senior)
    team = client.get("/equipe").get_data(as_text=True)
    board = client.get("/pilotage").get_data(as_text=True)
    assert _board_tiles(team) == _board_tiles(board) == ("1", "1")
    assert "≥ 60\u00a0% du délai" in team and "≥ 60\u00a0% du délai" in board
    at_risk_section = team.split("card at-risk")[1].split("</section>")[0]
    assert at_risk.reference in at_risk_section and breached.reference not in at_risk_section
    rows = {ref: team.split(f">{ref}</a>")[-1].split("</tr>")[0] for ref in
            (breached.reference, at_risk.reference, raised.reference, fresh.reference)}
    assert "sla-breached" in rows[breached.reference] and "sla-at-risk" in rows[at_risk.reference]
    assert "sla-raised" in rows[raised.reference] and "sla-ok" in rows[fresh.reference]
