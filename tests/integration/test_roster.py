"""Seniors plan their unit's week in /equipe/planning; agents read their own; the callback window
follows the roster."""
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

from sqlalchemy import func, select

from chamber_callback.domain.actors import SYSTEM
from chamber_callback.domain.roster import parse_hours
from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, RosterDay, RosterTemplate
from chamber_callback.services import eta as eta_service
from chamber_callback.services import roster
from tests.integration.helpers import make_request, make_staff, request_by_id, sign_in
from tests.integration.test_public_form import text_of

WEDNESDAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # 10:30 in Paris
WEEK = "2026-11-30"


def _template(client, agent, **days):
    form = {"user_id": agent.id, "semaine": WEEK}
    for day, (start, end) in days.items():
        form[f"start{day[1:]}"], form[f"end{day[1:]}"] = start, end
    return client.post("/equipe/planning/modele", data=form, follow_redirects=True)


def test_a_senior_plans_the_usual_week_and_a_day_off_and_the_agent_sees_it(app, freeze_clock):
    freeze_clock(WEDNESDAY)
    senior = make_staff(role="senior")
    agent = make_staff(email="lea@cma.fr")
    client = app.test_client()
    sign_in(client, senior)
    page = text_of(_template(client, agent, d0=("08:00", "16:00"), d2=("09:00", "17:30")))
    assert "Semaine type de" in page and "08:00–16:00" in page and "09:00–17:30" in page
    assert db.session.scalar(select(func.count()).select_from(RosterTemplate)) == 2
    page = text_of(client.post("/equipe/planning/jour", data={
        "user_id": agent.id, "day": "2026-12-02", "what": "off", "semaine": WEEK}, follow_redirects=True))
    assert "mis à jour pour le 02/12" in page
    day = db.session.scalar(select(RosterDay))
    assert (day.day, day.start, day.end) == (date(2026, 12, 2), None, None)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.like("roster.%"))) == 2
    mine = app.test_client()
    sign_in(mine, agent)
    page = text_of(mine.get("/console/planning"))
    assert "08:00–16:00" in page and "repos" in page  # Monday worked, this Wednesday off
    # Back to the template: the Wednesday is worked again.
    client.post("/equipe/planning/jour", data={"user_id": agent.id, "day": "2026-12-02", "what": "template",
                                               "semaine": WEEK})
    assert db.session.scalar(select(func.count()).select_from(RosterDay)) == 0


def test_bad_hours_are_refused_with_a_message_and_nothing_is_kept(app, freeze_clock):
    freeze_clock(WEDNESDAY)
    senior, agent = make_staff(role="senior"), make_staff()
    client = app.test_client()
    sign_in(client, senior)
    page = text_of(_template(client, agent, d0=("08:00", "16:00"), d1=("17:00", "09:00")))
    assert "La fin doit suivre le début" in page
    assert db.session.scalar(select(func.count()).select_from(RosterTemplate)) == 0  # not even Monday


def test_a_senior_cannot_plan_an_agent_of_another_unit(app, freeze_clock):
    freeze_clock(WEDNESDAY)
    senior, other = make_staff(role="senior"), make_staff(unit="sud-est")
    client = app.test_client()
    sign_in(client, senior)
    assert _template(client, other, d0=("08:00", "16:00")).status_code == 404
    assert client.post("/equipe/planning/jour", data={"user_id": other.id, "day": "2026-12-02",
                                                      "what": "off"}).status_code == 404


def test_the_week_imported_as_csv_is_all_or_nothing(app, freeze_clock):
    freeze_clock(WEDNESDAY)
    senior = make_staff(role="senior")
    make_staff(email="lea@cma.fr")
    make_staff(email="marc@cma.fr")
    client = app.test_client()
    sign_in(client, senior)
    bad = "email;date;debut;fin\nlea@cma.fr;2026-12-07;08:00;16:00\nmarc@cma.fr;2026-12-07;8h;16:00\n"
    page = text_of(client.post("/equipe/planning/import", data={
        "file": (BytesIO(bad.encode()), "semaine.csv"), "semaine": WEEK}, follow_redirects=True))
    assert "Ligne 3" in page and "Heure illisible" in page
    assert db.session.scalar(select(func.count()).select_from(RosterDay)) == 0
    good = "\ufeffemail;date;debut;fin\nlea@cma.fr;2026-12-07;08:00;16:00\nmarc@cma.fr;2026-12-07;;\n"
    page = text_of(client.post("/equipe/planning/import", data={
        "file": (BytesIO(good.encode()), "semaine.csv"), "semaine": "2026-12-07"}, follow_redirects=True))
    assert "2 journée(s) importée(s)" in page and "08:00–16:00" in page
    assert db.session.scalar(select(func.count()).select_from(RosterDay)) == 2


def test_the_window_follows_the_roster(app, freeze_clock):
    now = WEDNESDAY  # 10:30 in Paris
    freeze_clock(now)
    agent = make_staff(availability="offline")
    request = make_request(now=now)
    eta_service.recompute(now)  # nobody present, no roster: the deadline and why
    assert request_by_id(request.id).eta_reason == "no_agent"
    # Planned this afternoon from 14:00 (Paris): the first call is expected then, not now.
    roster.set_day(agent, date(2026, 12, 2), parse_hours("14:00", "18:00"), actor=SYSTEM, now=now)
    eta_service.recompute(now)
    planned = request_by_id(request.id)
    assert planned.eta_reason is None
    assert datetime(2026, 12, 2, 13, tzinfo=UTC) <= planned.eta_from < planned.eta_to <= datetime(
        2026, 12, 2, 14, tzinfo=UTC)
    # A day off instead: back to « no agent planned ».
    roster.set_day(agent, date(2026, 12, 2), None, actor=SYSTEM, now=now)
    roster.set_template(agent, {}, actor=SYSTEM, now=now)
    eta_service.recompute(now)
    assert request_by_id(request.id).eta_reason in ("no_agent", "late")


def test_present_but_not_planned_counts_for_an_hour(app, freeze_clock):
    now = WEDNESDAY
    freeze_clock(now)
    planned_agent = make_staff(availability="offline")
    make_staff()  # present now, not in the roster
    roster.set_template(planned_agent, {3: parse_hours("08:00", "12:00")},
                        actor=SYSTEM, now=now)  # Thursdays only
    requests = [make_request(now=now) for _ in range(3)]
    eta_service.recompute(now)
    first = request_by_id(requests[0].id)
    assert first.eta_reason is None and first.eta_from - now < timedelta(hours=1)
