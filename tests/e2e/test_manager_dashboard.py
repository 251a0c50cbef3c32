"""A manager watches the dashboard while agents work: tiles and lists move without a reload,
and a late request is given to another agent in one click."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, Offer, StaffUser
from chamber_callback.services import assignment
from chamber_callback.services.sla import sla_tick
from tests.e2e.conftest import sign_in
from tests.integration.helpers import make_request, make_staff

pytestmark = pytest.mark.e2e


def build_a_busy_morning(app):
    """A unit with a late request, one at risk, calls made over the last hours."""
    now = datetime.now(UTC)
    with app.app_context():
        make_staff(role="manager", email="manager@example.fr")
        caller = make_staff(email="caller@example.fr", availability="offline")
        make_staff(email="helper@example.fr", availability="offline")
        make_staff(unit="ouest", email="ouest@example.fr", availability="offline")
        for hours_ago, outcome in ((5, "reached_resolved"), (3, "no_answer"), (2, "reached_follow_up")):
            request = make_request(now=now - timedelta(hours=hours_ago + 1))
            caller = db.session.get(type(caller), caller.id)
            caller.availability = "available"
            db.session.commit()
            at = now - timedelta(hours=hours_ago)
            assignment.assign_request(request.id, at)
            offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id))
            assignment.accept_offer(offer.id, caller, at)
            attempt = assignment.start_attempt(request.reference, caller, at)
            follow_up = at + timedelta(hours=20) if outcome == "reached_follow_up" else None
            assignment.record_outcome(attempt.id, caller, outcome, at + timedelta(minutes=4), follow_up_at=follow_up)
            caller = db.session.get(type(caller), caller.id)
            caller.availability = "offline"
            db.session.commit()
        late = make_request(now=now - timedelta(hours=26), urgent=True)
        risky = make_request(now=now - timedelta(hours=20))
        make_request(now=now - timedelta(minutes=30))
        make_request(unit="ouest", now=now - timedelta(hours=4))
        for _ in range(3):
            sla_tick(now)
        return late.reference, risky.reference, caller.id


def test_dashboard_moves_as_agents_work(live_server, laptop_page, shots):
    base, app = live_server
    app.config["DASHBOARD_POLL_SECONDS"] = 1
    late, risky, caller_id = build_a_busy_morning(app)
    page = laptop_page
    sign_in(page, base, "manager@example.fr", "/pilotage", app)
    assert page.locator("[data-tile=breached]").inner_text() == "1"
    assert page.locator("[data-tile=at-risk]").inner_text() == "1"
    assert page.locator("[data-tile=calls-today]").inner_text() in ("1", "2", "3")  # early mornings: fewer today
    assert late in page.locator(".breached-list").inner_text()
    assert risky in page.locator(".at-risk").inner_text()
    assert page.locator("figure.chart svg polyline").count() >= 2  # the charts are drawn
    page.evaluate("window.__sameDocument = true")
    shots(page, "dashboard")

    # An agent dials the request at risk: the dashboard follows without a reload.
    waiting = int(page.locator("[data-tile=waiting]").inner_text())
    with app.app_context():
        caller = db.session.get(StaffUser, caller_id)
        caller.availability = "available"
        db.session.commit()
        taken = assignment.claim_next(caller, datetime.now(UTC)).reference
        assignment.start_attempt(taken, caller, datetime.now(UTC))
    page.locator("[data-tile=waiting]").filter(has_text=str(waiting - 1)).wait_for(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    assert "+ 1 en appel" in page.locator(".tiles").inner_text()

    # The manager gives the remaining late or at-risk request to the helper, in one click.
    remaining = late if taken != late else risky
    page.locator(f"tr[data-ref='{remaining}'] input[type=checkbox]").check()  # the panel holds still now
    page.get_by_label("Confier à").select_option(label="helper (Hors ligne)")
    page.get_by_role("button", name="Confier").click()
    page.get_by_text("1 demande(s) traitée(s)").wait_for()
    with app.app_context():
        helper = db.session.scalar(select(StaffUser).where(StaffUser.email == "helper@example.fr"))
        assert db.session.scalar(select(CallbackRequest.preferred_agent_id).where(
            CallbackRequest.reference == remaining)) == helper.id

    page.goto(base + "/rapports?par=day")
    assert "Par unité" in page.content() and "Par conseiller" in page.content()
    assert page.locator("text=caller").count() >= 1
    shots(page, "reports")
