"""The expected callback window: given at submission, kept fresh by the periodic job, shown to the
artisan (pages, SMS, API), and measured against the first call (the dashboard's calibration)."""
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import ArtisanMessage, CallbackRequest
from chamber_callback.services import assignment, stats
from chamber_callback.services import eta as eta_service
from tests.integration.helpers import make_request, make_staff, request_by_id
from tests.integration.test_public_form import text_of

URL = "/api/v1/callback-requests"
WEDNESDAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # 10:30 in Paris: the units are open


def test_with_agents_present_the_artisan_is_told_a_window_before_the_deadline(app, client, valid_json, run_jobs,
                                                                              freeze_clock):
    freeze_clock(WEDNESDAY)
    for _ in range(2):
        make_staff(skills=["pge"], unit="sud-est")  # valid_json goes to sud-est
    body = client.post(URL, json=valid_json).get_json()
    window = body["expected_callback"]
    start, end = datetime.fromisoformat(window["from"]), datetime.fromisoformat(window["to"])
    assert WEDNESDAY <= start < end <= datetime.fromisoformat(body["sla_deadline"])
    assert end - start <= timedelta(minutes=30)  # two agents, an empty queue: called within minutes
    assert window["from"].endswith("+01:00")  # local time with its offset
    request = db.session.scalar(select(CallbackRequest))
    assert request.eta_reason is None and request.eta_to <= request.sla_deadline
    page = text_of(client.get(body["status_url"].replace("https://rappel.example.fr", "")))
    assert "Rappel prévu" in page
    run_jobs()
    confirmation = db.session.scalar(select(ArtisanMessage).where(ArtisanMessage.kind == "confirmation"))
    assert "rappel prévu d'ici 10h" in confirmation.body or "rappel prévu aujourd'hui" in confirmation.body


def test_without_anyone_the_deadline_is_given_with_the_reason(app, client, valid_json):
    body = client.post(URL, json=valid_json).get_json()
    assert body["expected_callback"] is None
    page = text_of(client.get(body["status_url"].replace("https://rappel.example.fr", "")))
    assert "Aucun conseiller n'est présent ou prévu" in page and "Rappel au plus tard" in page


def test_the_job_recomputes_the_queue_and_keeps_stable_windows(app, freeze_clock):
    now = WEDNESDAY
    freeze_clock(now)
    first = make_request(now=now)
    second = make_request(now=now)
    assert request_by_id(second.id).eta_reason == "no_agent"
    for _ in range(2):
        make_staff()
    counts = eta_service.recompute(now)
    assert counts["estimated"] == 2 and counts["updated"] == 2
    one, two = request_by_id(first.id), request_by_id(second.id)
    assert one.eta_reason is None and two.eta_reason is None and one.eta_from <= two.eta_from
    assert eta_service.recompute(now + timedelta(minutes=1))["updated"] == 0  # nothing moved: nothing written


def test_requests_submitted_at_the_same_instant_are_told_windows_in_queue_order(app, client, valid_json,
                                                                                freeze_clock):
    # Same instant, same terms: only the ids order them, and a new request's window is worked out
    # before its row (and id) exists. It comes after every stored one.
    freeze_clock(WEDNESDAY)
    make_staff(skills=["pge"], unit="sud-est")
    bodies = [client.post(URL, json={**valid_json, "phone": f"+3361234567{n}"}).get_json() for n in range(3)]
    ends = [datetime.fromisoformat(body["expected_callback"]["to"]) for body in bodies]
    assert ends[0] < ends[1] < ends[2]  # one agent: one call after the other
    assert eta_service.recompute(WEDNESDAY)["updated"] == 0  # what the queue walk finds, already told


def test_a_window_that_slips_far_is_told_once(app, run_jobs, freeze_clock):
    now = WEDNESDAY
    freeze_clock(now)
    make_staff()
    request = make_request(now=now)
    told = request_by_id(request.id)
    told.eta_told_from = now - timedelta(hours=5)  # as if the first window had been much earlier
    told.eta_from = told.eta_to = None
    db.session.commit()
    assert eta_service.recompute(now)["delay_notices"] == 1
    assert eta_service.recompute(now)["delay_notices"] == 0
    run_jobs()
    delay = db.session.scalar(select(ArtisanMessage).where(ArtisanMessage.kind == "delay"))
    assert "retardé" in delay.body


def test_the_first_call_is_measured_against_the_window_announced(app, freeze_clock):
    now = WEDNESDAY
    freeze_clock(now)
    agent = make_staff()
    request = make_request(now=now)
    eta_service.recompute(now)
    announced = request_by_id(request.id)
    taken = assignment.claim_next(agent, now)
    assignment.start_attempt(taken.reference, agent, now)
    called = request_by_id(request.id)
    assert (called.announced_from, called.announced_to) == (announced.eta_from, announced.eta_to)
    assert called.announced_width_s == int((announced.eta_to - announced.eta_from).total_seconds())
    figures = stats.calibration(stats.Scope(), now + timedelta(minutes=1))
    inside = announced.eta_from <= now <= announced.eta_to
    assert (figures.last_week.part, figures.last_week.whole) == (int(inside), 1)
    assert figures.median_width_s == called.announced_width_s


def test_a_burst_of_submissions_reads_the_units_context_once(app, client, valid_json, freeze_clock, monkeypatch):
    """With ETA_CONTEXT_SECONDS, the pace, roster and calendar of a unit are read once for a burst;
    each request still queues behind the ones before it."""
    freeze_clock(WEDNESDAY)
    make_staff(skills=["pge"], unit="sud-est")
    app.config["ETA_CONTEXT_SECONDS"] = 60
    eta_service._contexts.clear()
    reads = []
    real = eta_service.unit_context
    monkeypatch.setattr(eta_service, "unit_context", lambda unit, now: reads.append(unit.id) or real(unit, now))
    ends = [datetime.fromisoformat(client.post(URL, json={**valid_json, "phone": f"+3361234560{i}"})
                                   .get_json()["expected_callback"]["to"]) for i in range(6)]
    assert len(reads) == 1
    assert ends == sorted(ends) and ends[-1] > ends[0]  # one agent: later and later
    eta_service._contexts.clear()
