"""The manager dashboard, its figures, actions on late requests, /api/v1/stats.

The figures are checked on a hand-made day with exact expected numbers: one request called a
minute before its deadline, one a minute after, one never called, one cancelled after its
deadline, one at risk…
"""
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from chamber_callback.domain.actors import Actor
from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallAttempt, CallbackRequest, Escalation, Offer, RegionalUnit
from chamber_callback.services import assignment, stats, supervision
from chamber_callback.services.intake import cancel_request
from chamber_callback.services.retention import purge_personal_data
from chamber_callback.services.sla import sla_tick
from tests.integration.campaign_helpers import make_campaign, make_contact
from tests.integration.helpers import make_request, make_staff, reload, run_at_once, token_for
from tests.integration.test_staff_access import login

TZ = "Europe/Paris"
# A Wednesday, 15:00 in Paris: "today" started 15 hours earlier.
NOW = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def call(request, agent, at, outcome="reached_resolved"):
    """The real path: offer, accept, dial at ``at``, outcome two minutes later."""
    agent = reload(agent)
    agent.availability = "available"
    db.session.commit()
    assert assignment.assign_request(request.id, at) == agent.id
    offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id, Offer.status == "pending"))
    assignment.accept_offer(offer.id, agent, at)
    attempt = assignment.start_attempt(request.reference, agent, at)
    assignment.record_outcome(attempt.id, agent, outcome, at + 2 * M)
    agent = reload(agent)
    agent.availability = "offline"
    db.session.commit()


@pytest.fixture
def day(app):
    """The hand-made day, in the unit idf-nord-om, all figures known."""
    agent = make_staff(availability="offline")
    a = make_request(now=NOW - 30 * H)  # deadline NOW-6h, called a minute before: met
    call(a, agent, NOW - 6 * H - M)
    b = make_request(now=NOW - 28 * H)  # deadline NOW-4h, called a minute after: missed
    call(b, agent, NOW - 4 * H + M)
    c = make_request(now=NOW - 2 * H)  # called after an hour, nobody answered: met, waiting again
    call(c, agent, NOW - H, outcome="no_answer")
    d = make_request(now=NOW - 26 * H)  # never called, deadline NOW-2h: breached
    e = make_request(now=NOW - 20 * H)  # 83 % of the SLA used: at risk
    f = make_request(now=NOW - H)  # just arrived
    g = make_request(now=NOW - 72 * H)  # cancelled before its deadline: not judged
    cancel_request(g, actor=Actor("artisan"), now=NOW - 60 * H)
    h = make_request(now=NOW - 27 * H)  # cancelled an hour after its deadline: missed
    cancel_request(h, actor=Actor("artisan"), now=NOW - H)
    other = make_request(unit="ouest", now=NOW - 3 * H)  # another unit: waiting there
    for _ in range(3):
        sla_tick(NOW)
    db.session.expire_all()
    return {"agent": agent, "a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "g": g, "h": h, "other": other}


def idf() -> int:
    return db.session.scalar(select(RegionalUnit.id).where(RegionalUnit.code == "idf-nord-om"))


def test_headline_figures_of_a_hand_made_day(day):
    assert {lvl for lvl in db.session.scalars(select(Escalation.level).where(
        Escalation.request_id == day["e"].id))} >= {"half", "senior"}
    figures = stats.headline(stats.Scope(unit_id=idf()), NOW, TZ)
    assert figures.by_status == {"queued": 3, "retry_wait": 1}  # D, E, F queued; C waits for its retry
    assert figures.waiting == 4 and figures.in_call == 0
    assert figures.oldest_waiting_s == 26 * 3600  # D: never called (C was)
    assert figures.breached == 1  # D (H is cancelled)
    assert figures.at_risk == 1  # E
    assert figures.calls_today == 3
    # Judged today: A and C met; B (late by a minute), D (waiting) and H (cancelled late) missed.
    assert (figures.within_today.part, figures.within_today.whole) == (2, 5)
    assert figures.within_today.rate == pytest.approx(0.4)
    assert (figures.within_7_days.part, figures.within_7_days.whole) == (2, 5)
    # Times to first attempt: 1 h (C), 23 h 59 (A), 24 h 01 (B); nearest rank.
    assert figures.ttfa_7_days.as_dict() == {"count": 3, "median_s": 86340, "p90_s": 86460}
    # Closed in the 7 days: A, B completed; G, H cancelled.
    assert (figures.abandonment_7_days.part, figures.abandonment_7_days.whole) == (2, 4)
    whole_chamber = stats.headline(stats.Scope(), NOW, TZ)
    assert whole_chamber.waiting == 5 and whole_chamber.breached == 1


def test_today_and_the_week_are_told_apart(day):
    older = make_request(now=NOW - 96 * H)  # called three days ago, in time
    call(older, day["agent"], NOW - 90 * H)
    figures = stats.headline(stats.Scope(unit_id=idf()), NOW, TZ)
    assert (figures.within_today.part, figures.within_today.whole) == (2, 5)
    assert (figures.within_7_days.part, figures.within_7_days.whole) == (3, 6)
    assert figures.ttfa_7_days.count == 4 and figures.calls_today == 3
    # The dashboard takes the same figures from its per-day chart: they agree.
    _days, by_day = stats.within_sla_by_day(stats.Scope(unit_id=idf()), NOW.date() - timedelta(days=6), NOW.date(),
                                            NOW, TZ)
    from_chart = stats.headline(stats.Scope(unit_id=idf()), NOW, TZ, week_by_day=by_day)
    assert (from_chart.within_today, from_chart.within_7_days) == (figures.within_today, figures.within_7_days)
    assert from_chart.within_7_days_by_unit == figures.within_7_days_by_unit


def test_queue_depth_lists_and_charts(day):
    active = stats.active_breakdown(stats.Scope(), NOW)
    assert active.oldest_never_called == NOW - 26 * H  # D
    rows = {row.label: row for row in active.by_unit}
    assert len(rows) == 5  # every unit, even with an empty queue
    idf_row = next(row for row in rows.values() if row.key == idf())
    assert (idf_row.waiting, idf_row.at_risk, idf_row.breached) == (4, 1, 1)
    assert sum(row.waiting for row in rows.values()) == 5
    by_topic = active.by_topic
    assert sum(row.waiting for row in by_topic) == 5 and len(by_topic) == 1
    at_risk, breached = stats.attention_lists(stats.Scope(), NOW)
    assert [r.reference for r in at_risk] == [day["e"].reference]
    assert [r.reference for r in breached] == [day["d"].reference]
    activity = stats.hourly_activity(stats.Scope(), NOW - 72 * H, NOW, TZ)
    assert len(activity.keys) == 72
    assert sum(activity.values["calls"]) == 3
    assert sum(activity.values["received"]) == 9  # all but G, submitted 72 h ago (on the edge: included)
    histogram = dict(stats.ttfa_histogram(stats.Scope(), NOW - 7 * 24 * H, NOW))
    assert histogram[2] == 1 and histogram[24] == 1 and histogram[48] == 1
    days, shares = stats.within_sla_by_day(stats.Scope(), NOW.date() - timedelta(days=2), NOW.date(), NOW, TZ)
    assert days[-1] == "2026-11-18"
    today = shares[idf()]["2026-11-18"]
    assert (today.part, today.whole) == (2, 5)
    today, week = stats.within_sla_by_unit(stats.Scope(), stats.local_midnight(NOW, TZ, days_back=6), NOW,
                                           split_at=stats.local_midnight(NOW, TZ))
    assert (today[idf()].part, today[idf()].whole) == (2, 5) == (week[idf()].part, week[idf()].whole)
    board = stats.agents_board(stats.Scope(unit_id=idf()), NOW, TZ)
    caller = next(row for row in board if row.agent.id == day["agent"].id)
    assert caller.calls_today == 3 and (caller.within_7_days.part, caller.within_7_days.whole) == (2, 3)


@pytest.mark.parametrize("scope", [stats.Scope(), stats.Scope(unit_id=1), stats.Scope(urgent_only=True)])
def test_figures_counted_in_the_charts_passes_equal_their_own_queries(day, scope):
    """The calls today and the requests per channel, counted in the hourly chart's passes, give
    exactly what their own queries give, whatever the periods (overlapping or not); a campaign's
    call counts nowhere; the calibration tile's single query gives the per-unit counts summed
    and the nearest-rank median of the widths."""
    scope = stats.Scope(unit_id=idf()) if scope.unit_id else scope
    contact = make_contact(make_campaign(), now=NOW - 3 * H)  # a campaign's call: in no figure
    db.session.add(CallAttempt(request_id=contact.id, agent_id=day["agent"].id, started_at=NOW - 2 * H,
                               ended_at=NOW - 2 * H + M, outcome="reached_resolved"))
    db.session.commit()
    midnight = stats.local_midnight(NOW, TZ)
    for since, channels_between in ((midnight, (NOW - 7 * 24 * H, NOW + 10 * H)),
                                    (NOW - 90 * M, (NOW - 30 * H, NOW - 2 * H)),
                                    (NOW - 80 * H, (NOW - 400 * H, NOW - 100 * H)),  # before the chart
                                    (midnight + 30 * M, (NOW - 26 * H, NOW - 26 * H + M))):
        alone = stats.hourly_activity(scope, NOW - 72 * H, NOW, TZ)
        together = stats.hourly_activity(scope, NOW - 72 * H, NOW, TZ, calls_since=since,
                                         channels_between=channels_between)
        assert (together.keys, together.values) == (alone.keys, alone.values)
        joined = db.session.scalar(select(func.count()).select_from(CallAttempt).join(
            CallbackRequest, CallbackRequest.id == CallAttempt.request_id).where(
            CallAttempt.started_at >= since, CallAttempt.started_at < NOW, *scope.conditions()))
        assert together.calls_since == stats.calls_between(scope, since, NOW) == joined
        assert together.channels == stats.requests_by_channel(scope, *channels_between)
    assert stats.hourly_activity(scope, NOW - 72 * H, NOW, TZ, calls_since=midnight).calls_since == \
        stats.headline(scope, NOW, TZ).calls_today == (3 if not scope.urgent_only else 0)
    called = db.session.scalars(select(CallbackRequest).where(CallbackRequest.first_attempt_at.is_not(None))
                                .order_by(CallbackRequest.id)).all()
    assert len(called) >= 3
    for n, request in enumerate(called):  # windows announced: some kept, some not, some widths equal
        request.announced_from = request.first_attempt_at - (n % 3 - 1) * 20 * M
        request.announced_to = request.announced_from + (30 + 15 * (n % 2)) * M
        request.announced_width_s = int((request.announced_to - request.announced_from).total_seconds())
    db.session.commit()
    calibration = stats.calibration(scope, NOW)
    by_unit = stats.calibration_by_unit(scope, NOW)
    assert calibration.last_week == stats.definitions.total(row.last_week for row in by_unit.values())
    assert calibration.last_day == stats.definitions.total(row.last_day for row in by_unit.values())
    in_scope = {r.id for r in db.session.scalars(select(CallbackRequest).where(*scope.conditions()))}
    widths = sorted(r.announced_width_s for r in called
                    if r.id in in_scope and NOW - 7 * 24 * H <= r.first_attempt_at < NOW)
    assert calibration.last_week.whole == len(widths)
    assert calibration.median_width_s == (widths[(len(widths) + 1) // 2 - 1] if widths else None)


def test_reports_per_unit_and_per_agent(day):
    start, end = stats.day_bounds(NOW.date() - timedelta(days=6), NOW.date(), TZ)
    units = stats.report("unit", "total", stats.Scope(), start, end, NOW, TZ)
    idf_row = next(row for row in units if row.key == idf())
    assert idf_row.received == 8  # G (72 h ago) included: the window starts 6 days back
    assert (idf_row.handled, idf_row.calls) == (3, 3)
    assert (idf_row.met, idf_row.missed) == (2, 3)
    assert idf_row.outcomes == {"reached_resolved": 2, "no_answer": 1}
    assert idf_row.closed == {"completed": 2, "cancelled": 2}
    assert (idf_row.ttfa.median_s, idf_row.ttfa.p90_s) == (86340, 86460)
    agents = stats.report("agent", "total", stats.Scope(), start, end, NOW, TZ)
    assert len(agents) == 1
    mine = agents[0]
    assert (mine.key, mine.handled, mine.calls, mine.met, mine.missed) == (day["agent"].id, 3, 3, 2, 1)
    assert mine.attempts_per_request == 1
    by_day = stats.report("unit", "day", stats.Scope(unit_id=idf()), start, end, NOW, TZ)
    today = next(row for row in by_day if row.bucket == "2026-11-18")
    assert (today.calls, today.met, today.missed) == (3, 2, 3)
    by_week = stats.report("agent", "week", stats.Scope(), start, end, NOW, TZ)
    assert {row.bucket for row in by_week} == {"2026-S47"}


def test_dashboard_page_shows_the_figures(app, client, day, freeze_clock):
    freeze_clock(NOW)
    manager = make_staff(role="manager")
    login(client, manager)
    page = client.get(f"/pilotage?unite={idf()}").get_data(as_text=True)
    assert 'data-tile="breached">1<' in page and 'data-tile="at-risk">1<' in page
    assert 'data-tile="within-today">40\u00a0%<' in page
    assert 'data-tile="calls-today">3<' in page
    assert 'data-tile="oldest">26 h<' in page
    assert day["d"].reference in page and day["e"].reference in page
    assert "<svg" in page and "Demandes reçues et appels passés par heure" in page
    panel = client.get(f"/pilotage/panneau?unite={idf()}")
    assert panel.status_code == 200 and "<html" not in panel.get_data(as_text=True)
    assert 'data-tile="breached">1<' in panel.get_data(as_text=True)
    bad = client.get("/pilotage?du=2026-13-45").get_data(as_text=True)
    assert "Date illisible" in bad
    reports = client.get("/rapports?par=day").get_data(as_text=True)
    assert "Par unité" in reports and "2026-11" in reports


def test_a_senior_sees_its_own_unit_only(app, client, day, freeze_clock):
    freeze_clock(NOW)
    senior = make_staff(role="senior", unit="ouest")
    login(client, senior)
    page = client.get(f"/pilotage?unite={idf()}").get_data(as_text=True)  # the unit asked for is ignored
    assert day["d"].reference not in page and day["e"].reference not in page
    assert 'data-tile="waiting">1<' in page  # the other unit's one request
    csv_text = client.get("/rapports/demandes.csv?du=2026-11-01&au=2026-11-18").get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert len(lines) == 2 and day["other"].reference in lines[1]
    response = client.post(f"/pilotage/demandes/{day['f'].reference}/priorite", data={})
    assert response.status_code == 404
    assert reload(day["f"]).priority == 0


def test_csv_export_streams_and_hides_personal_data_from_admins(app, day, freeze_clock):
    freeze_clock(NOW)
    injected = make_request(now=NOW - 2 * H)
    injected.business_name = "=HYPERLINK(\"http://x\")"
    db.session.commit()
    manager, admin = make_staff(role="manager"), make_staff(role="admin")
    manager_client, admin_client = app.test_client(), app.test_client()
    login(manager_client, manager)
    login(admin_client, admin)
    response = manager_client.get("/rapports/demandes.csv?du=2026-11-10&au=2026-11-18")
    assert response.is_streamed and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffRéférence;Reçue le;")
    rows = text.strip().splitlines()
    assert len(rows) == 1 + 10  # G was submitted on the 15th, inside the range
    assert "Téléphone" in rows[0] and "'=HYPERLINK" in text and "01 99 00" in text
    line_a = next(row for row in rows if row.startswith(day["a"].reference)).split(";")
    assert line_a[9] == "Traitée" and line_a[12] == "oui" and line_a[13] == "1439"
    line_b = next(row for row in rows if row.startswith(day["b"].reference)).split(";")
    assert line_b[12] == "non" and line_b[13] == "1441"
    admin_text = admin_client.get("/rapports/demandes.csv?du=2026-11-10&au=2026-11-18").get_data(as_text=True)
    assert "Téléphone" not in admin_text and "HYPERLINK" not in admin_text and "Artisan Test" not in admin_text
    assert len(admin_text.strip().splitlines()) == 11
    exports = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export.requests")
                                 .order_by(AuditEvent.id)).all()
    assert [(e.staff_user_id, e.data["personal_data"]) for e in exports] == [(manager.id, True), (admin.id, False)]
    journal = admin_client.get("/admin/journal").get_data(as_text=True)
    assert journal.count("Export CSV des demandes") == 2 and "avec données personnelles" in journal
    assert "Période du 2026-11-10 au 2026-11-18" in journal
    report = manager_client.get("/rapports/unites.csv?du=2026-11-12&au=2026-11-18").get_data(as_text=True)
    header, *lines = report.strip().splitlines()
    assert header.split(";")[:4] == ["\ufeffUnité", "Période", "Demandes reçues", "Demandes appelées"]
    idf_line = next(line for line in lines if line.startswith("Île-de-France")).split(";")
    assert idf_line[2:5] == ["9", "3", "3"] and idf_line[8] == "40,0"  # received: the day + the injected one
    bad = manager_client.get("/rapports/demandes.csv?du=demain")
    assert bad.status_code == 400


def test_csv_export_is_a_stream_read_in_chunks(app, monkeypatch):
    """The rows come from a cursor, a thousand at a time: the body is produced while it is read."""
    from chamber_callback.manager import exports

    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)
    requests = [make_request(now=NOW - (hours + 1) * H) for hours in range(5)]
    # One whose personal data was erased after the retention period: exported as erased.
    cancel_request(requests[0], actor=Actor("artisan"), now=NOW - H)
    purge_personal_data(NOW + timedelta(days=400), retention_days=365)
    client = app.test_client()
    login(client, make_staff(role="manager"))
    response = client.get("/rapports/demandes.csv?du=2026-11-17&au=2026-11-18", buffered=False)
    chunks = list(response.response)
    assert len(chunks) >= 3  # header + 5 rows, in chunks of 2
    body = b"".join(chunks).decode("utf-8-sig")
    assert body.count("\r\n") == 6
    erased = next(line for line in body.splitlines() if line.startswith(requests[0].reference)).split(";")
    assert erased[18] and erased[19] == erased[22] == "—"  # erased on …; name and phone


def test_reassign_move_and_priority_from_the_dashboard(app, client, day):
    manager = make_staff(role="manager")
    login(client, manager)
    helper = make_staff(unit="idf-nord-om", availability="available")
    d, e, f = day["d"], day["e"], day["f"]
    response = client.post(f"/pilotage/demandes/{d.reference}/confier", data={"agent_id": helper.id})
    assert response.status_code == 302
    d = reload(d)
    assert (d.status, d.assigned_agent_id) == ("offered", helper.id)
    offer = db.session.scalar(select(Offer).where(Offer.request_id == d.id, Offer.status == "pending"))
    assert offer.agent_id == helper.id
    # Given to someone else: the first offer is withdrawn, not counted as the agent's miss.
    busy = make_staff(unit="ouest", availability="offline")
    client.post(f"/pilotage/demandes/{d.reference}/confier", data={"agent_id": busy.id})
    d = reload(d)
    assert (d.status, d.preferred_agent_id) == ("queued", busy.id) and d.overflow_at is not None
    assert reload(offer).status == "withdrawn" and reload(helper).missed_offers == 0
    # Another unit.
    ouest = db.session.scalar(select(RegionalUnit).where(RegionalUnit.code == "ouest"))
    client.post(f"/pilotage/demandes/{e.reference}/unite", data={"unit_id": ouest.id})
    assert reload(e).unit_id == ouest.id and reload(e).sla_deadline == e.sla_deadline
    # Priority, one then several.
    client.post(f"/pilotage/demandes/{f.reference}/priorite", data={})
    assert reload(f).priority == 2
    response = client.post("/pilotage/demandes/groupe", data={"action": "priority", "ref": [d.reference, e.reference]})
    assert reload(d).priority == 2 and reload(e).priority == 2
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 demande(s) traitée(s)" in follow
    events = {ev.action: ev.data for ev in db.session.scalars(select(AuditEvent).where(
        AuditEvent.actor_id == str(manager.id), AuditEvent.action.like("request.%")).order_by(AuditEvent.id))}
    assert events["request.moved"]["changes"]["unit_id"] == {"old": idf(), "new": ouest.id}
    assert events["request.priority_raised"]["changes"]["priority"]["new"] == 2
    assert events["request.reassigned"]["changes"]["agent_id"]["new"] == busy.id


def test_a_call_in_progress_cannot_be_moved(app, client, day):
    agent = make_staff(availability="available")
    request = make_request(now=NOW - 2 * H)
    assert assignment.assign_request(request.id, NOW) == agent.id
    offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id))
    assignment.accept_offer(offer.id, reload(agent), NOW)
    manager = make_staff(role="manager")
    login(client, manager)
    response = client.post(f"/pilotage/demandes/{request.reference}/priorite", data={}, follow_redirects=True)
    assert "Un appel est en cours" in response.get_data(as_text=True)
    assert reload(request).status == "in_call" and reload(request).priority == 0


def test_reassign_races_an_agent_taking_the_call(app):
    """A manager gives a request to one agent while another pulls it: one holder, never two."""
    manager = make_staff(role="manager")
    for _round in range(3):
        target, puller = make_staff(availability="available"), make_staff(availability="available")
        request = make_request(now=NOW - 2 * H)
        # Plain values: the threads must not touch the main thread's session.
        reference, target_id, puller_id, manager_id, user_type = (request.reference, target.id, puller.id,
                                                                  manager.id, type(manager))

        def run(index, reference=reference, target_id=target_id, puller_id=puller_id, manager_id=manager_id,
                user_type=user_type):
            if index == 0:
                # Refused when the other agent already dialled it, which is right.
                with contextlib.suppress(supervision.SupervisionError):
                    supervision.reassign(reference, target_id,
                                         supervision.Supervisor(db.session.get(user_type, manager_id)), NOW)
            else:
                assignment.claim_next(db.session.get(user_type, puller_id), NOW)

        run_at_once(app, run, 2)
        db.session.expire_all()
        request = reload(request)
        assert request.status in ("offered", "in_call")
        assert request.assigned_agent_id in (target_id, puller_id)
        pending = db.session.scalars(select(Offer).where(Offer.request_id == request.id,
                                                         Offer.status == "pending")).all()
        assert [offer.agent_id for offer in pending] == ([target_id] if request.status == "offered" else [])
        for agent_id in (target_id, puller_id):
            assert assignment.held_count(agent_id) == (1 if agent_id == request.assigned_agent_id else 0)
        for agent in (target, puller):
            agent = reload(agent)
            agent.availability = "offline"
        db.session.commit()


def test_stats_api(app, client, day, freeze_clock):
    freeze_clock(NOW)
    response = client.get("/api/v1/stats?unit=idf-nord-om", headers=token_for(make_staff(role="manager")))
    assert response.status_code == 200
    body = response.get_json()
    assert body["scope"]["unit"] == "idf-nord-om"
    assert (body["waiting"], body["breached"], body["at_risk"], body["calls_today"]) == (4, 1, 1, 3)
    assert body["within_sla"]["today"] == {"count": 2, "of": 5, "rate": 0.4}
    assert body["time_to_first_attempt_last_7_days"] == {"count": 3, "median_s": 86340, "p90_s": 86460}
    assert body["oldest_waiting_s"] == 26 * 3600
    assert [row["unit"] for row in body["by_unit"]] == ["idf-nord-om"]
    assert client.get("/api/v1/stats", headers=token_for(make_staff(role="senior"))).status_code == 403
    assert client.get("/api/v1/stats").status_code == 401
    unknown = client.get("/api/v1/stats?unit=nowhere", headers=token_for(make_staff(role="admin")))
    assert unknown.status_code == 400 and "idf-nord-om" in unknown.get_json()["detail"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/stats" in spec["paths"] and "Stats" in spec["components"]["schemas"]



MANAGER_MATRIX = {
    ("GET", "/pilotage"),
    ("GET", "/pilotage/panneau"),
    ("GET", "/pilotage/previsions"),
    ("POST", "/pilotage/demandes/XXXX-XXXX/confier"),
    ("POST", "/pilotage/demandes/XXXX-XXXX/unite"),
    ("POST", "/pilotage/demandes/XXXX-XXXX/priorite"),
    ("POST", "/pilotage/demandes/groupe"),
    ("GET", "/rapports"),
    ("GET", "/rapports/demandes.csv"),
    ("GET", "/rapports/unites.csv"),
    ("GET", "/rapports/conseillers.csv"),
    ("GET", "/pilotage/prefecture"),
    ("GET", "/pilotage/prefecture.csv"),
    ("GET", "/pilotage/prefecture/imprimer"),
    ("GET", "/pilotage/campagnes"),
    ("GET", "/pilotage/campagnes/nouvelle"),
    ("POST", "/pilotage/campagnes/nouvelle"),
    ("GET", "/pilotage/campagnes/999999"),
    ("GET", "/pilotage/campagnes/999999/modifier"),
    ("POST", "/pilotage/campagnes/999999/modifier"),
    ("POST", "/pilotage/campagnes/999999/etat"),
    ("GET", "/pilotage/campagnes/999999/import"),
    ("POST", "/pilotage/campagnes/999999/import"),
    ("GET", "/pilotage/campagnes/999999/import/999999"),
    ("GET", "/pilotage/campagnes/999999/import/999999.json"),
    ("GET", "/pilotage/campagnes/999999/resultats.csv"),
}
# The prefecture's report covers every unit: managers and admins only (SEES_ALL_UNITS).
ALL_UNITS_ONLY = {("GET", "/pilotage/prefecture"), ("GET", "/pilotage/prefecture.csv"),
                  ("GET", "/pilotage/prefecture/imprimer"),
                  # Campaigns are run by managers and admins (RUNS_CAMPAIGNS); seniors follow them.
                  ("GET", "/pilotage/campagnes/nouvelle"), ("POST", "/pilotage/campagnes/nouvelle"),
                  ("GET", "/pilotage/campagnes/999999/modifier"), ("POST", "/pilotage/campagnes/999999/modifier"),
                  ("POST", "/pilotage/campagnes/999999/import"), ("POST", "/pilotage/campagnes/999999/etat"),
                  ("GET", "/pilotage/campagnes/999999/import"), ("GET", "/pilotage/campagnes/999999/import/999999"),
                  ("GET", "/pilotage/campagnes/999999/import/999999.json"),
                  ("GET", "/pilotage/campagnes/999999/resultats.csv")}


@pytest.mark.parametrize("role", ["agent", "senior", "manager", "admin", "dpo", "anonymous"])
def test_manager_route_role_matrix(app, role):
    """Seniors, managers and admins (the prefecture's report: managers and admins); never agents nor the DPO;
    anonymous users are sent to the login page."""
    for method, path in MANAGER_MATRIX:
        client = app.test_client()
        if role != "anonymous":
            login(client, make_staff(role=role, availability="offline"))
        response = client.open(path, method=method, data={})
        response.get_data()  # a streamed export ends (and pops its context) here
        if role == "anonymous":
            assert response.status_code == 302 and "/connexion" in response.headers["Location"], path
        elif role in ("agent", "dpo") or (role == "senior" and (method, path) in ALL_UNITS_ONLY):
            assert response.status_code == 403, (path, response.status_code)
        else:
            assert response.status_code in (200, 302, 404, 422), (role, path, response.status_code)


def test_every_manager_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("manager.")}
    assert len(endpoints) == 22  # export_report, campaign_new, campaign_edit and campaign_import_page serve two
    assert len(MANAGER_MATRIX) == len(endpoints) + 4


def test_figures_are_shared_for_a_few_seconds_but_lists_stay_live(app, client, day, freeze_clock):
    freeze_clock(NOW)
    app.config["DASHBOARD_CACHE_SECONDS"] = 60
    login(client, make_staff(role="manager"))
    assert 'data-tile="waiting">5<' in client.get("/pilotage/panneau").get_data(as_text=True)
    late = make_request(now=NOW - 30 * H)  # breached: in the live list at once
    panel = client.get("/pilotage/panneau").get_data(as_text=True)
    assert 'data-tile="waiting">5<' in panel and late.reference in panel  # cached counts, live list
    app.config["DASHBOARD_CACHE_SECONDS"] = 0
    assert 'data-tile="waiting">6<' in client.get("/pilotage/panneau").get_data(as_text=True)
