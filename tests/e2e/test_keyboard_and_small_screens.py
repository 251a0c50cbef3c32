"""Without a mouse, and on a small phone: an artisan sends the form with the keyboard alone, an agent
takes a call with it, and the console fits a 360 px wide screen with buttons big enough to tap."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, Offer, StaffUser
from chamber_callback.services import assignment
from tests.e2e.axe import AXE_JS, Audit, require_axe
from tests.e2e.conftest import sign_in
from tests.integration.helpers import make_request, make_staff

pytestmark = pytest.mark.e2e

_FOCUSED = """() => { const el = document.activeElement, style = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '',
          text: (el.textContent || el.value || '').trim().slice(0, 40),
          outline: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth)}; }"""


class Keys:
    """Tab from stop to stop like a keyboard user, checking at every stop that focus shows."""

    def __init__(self, page) -> None:
        self.page, self.unseen = page, []

    def tab_to(self, selector: str, limit: int = 40) -> None:
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(_FOCUSED)
            if focused["outline"] < 2:
                self.unseen.append(focused)
            if self.page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{limit} presses of Tab never reached {selector}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def arrow_to(self, value: str, limit: int = 30) -> None:
        """On a radio button or a select: the arrow keys until the value is chosen."""
        for _ in range(limit):
            if self.page.evaluate("v => { const el = document.activeElement;"
                                  " return el.value === v && (el.type !== 'radio' || el.checked); }", value):
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"the arrow keys never chose {value}")

    def assert_focus_was_visible(self) -> None:
        assert not self.unseen, f"focus without a visible outline on: {self.unseen}"


def agent_with_an_offer(app, email="agent@example.fr", earlier_call=False) -> str:
    """An available agent with a pending offer (and, if asked, a call made earlier today);
    the offered request's reference."""
    now = datetime.now(UTC)
    with app.app_context():
        agent = make_staff(email=email, availability="available")
        if earlier_call:
            first = make_request(now=now - timedelta(hours=3))
            assignment.assign_request(first.id, now - timedelta(minutes=30))
            offer = db.session.scalar(select(Offer).where(Offer.request_id == first.id))
            assignment.accept_offer(offer.id, agent, now - timedelta(minutes=29))
            attempt = assignment.start_attempt(first.reference, agent, now - timedelta(minutes=28))
            assignment.record_outcome(attempt.id, agent, "no_answer", now - timedelta(minutes=27),
                                      note="Messagerie pleine, rappeler après 14 h")
            agent = db.session.get(StaffUser, agent.id)
            agent.availability = "available"
            db.session.commit()
        request = make_request(now=now - timedelta(hours=20), urgent=True)
        request.business_name = "Boulangerie-pâtisserie Lefèvre et fils, artisans depuis 1952"
        # Long words that a narrow screen cannot wrap on its own: an address, a pasted link.
        request.email = "martine.lefevre.boulangeriepatisserie@artisansdefrance.example.fr"
        request.description = ("Ai-je droit au fonds de solidarité ce mois-ci ? Le formulaire est là : "
                               "https://www.impots.gouv.fr/professionnel/fondsdesolidarite/formulairedemande2024")
        db.session.commit()
        assert assignment.assign_request(request.id, now) is not None
        return request.reference


def test_the_public_form_with_the_keyboard_alone(live_server, laptop_page):
    base, app = live_server
    page = laptop_page
    page.goto(base + "/")
    keys = Keys(page)
    keys.tab_to("#name")
    keys.type("Martine Lefèvre")
    keys.tab_to("#phone")
    keys.type("06 12 34 56 78")
    keys.tab_to("#business_name")
    keys.type("Boulangerie Lefèvre")
    keys.tab_to("input[name=sector]")
    page.keyboard.press("Space")
    keys.arrow_to("alimentation")
    keys.tab_to("#postal_code")
    keys.type("75011")
    keys.tab_to("#topic")
    keys.arrow_to("aides")
    keys.tab_to("#description")
    keys.type("Ai-je droit au fonds de solidarité ce mois-ci ?")
    keys.tab_to("#consent")
    page.keyboard.press("Space")
    keys.tab_to("button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/confirmation$"))
    assert "Votre demande est enregistrée" in page.content()
    keys.assert_focus_was_visible()
    with app.app_context():
        request = db.session.scalar(select(CallbackRequest))
        assert (request.sector, request.topic.code, request.postal_code) == ("alimentation", "aides", "75011")


def test_an_agent_takes_a_call_with_the_keyboard_alone(live_server, laptop_page):
    base, app = live_server
    reference = agent_with_an_offer(app)
    page = laptop_page
    sign_in(page, base, "agent@example.fr", "/console")
    page.get_by_role("heading", name="Nouvel appel proposé").wait_for()
    keys = Keys(page)
    keys.tab_to("button[data-key=a]")
    page.keyboard.press("Enter")
    page.get_by_text("Appel en main").wait_for()
    assert reference in page.locator(".call").inner_text()
    keys.tab_to("form[action$='/appel'] button")  # « Démarrer l'appel »
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Enregistrer le résultat").wait_for()
    keys.tab_to("input[name=outcome]")
    keys.arrow_to("no_answer")
    keys.tab_to("form.outcome button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_text("Résultat enregistré").wait_for()
    keys.assert_focus_was_visible()
    with app.app_context():
        assert db.session.scalar(select(CallbackRequest.status).where(
            CallbackRequest.reference == reference)) == "retry_wait"


@pytest.fixture
def small_phone(browser):
    # bypass_csp: axe is added as an inline script, which the app's script-src 'self' forbids.
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="fr-FR", bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


_SMALL_BUTTONS = """() => [...document.querySelectorAll('button, .button, input[type=submit]')]
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .map(el => ({text: (el.textContent || el.value).trim(), height: el.getBoundingClientRect().height}))
  .filter(button => button.height < 44)"""


def assert_fits_a_small_phone(page, name: str, audit: Audit) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name}: the page scrolls sideways ({width} px wide on a 360 px screen)"
    small = page.evaluate(_SMALL_BUTTONS)
    assert not small, f"{name}: buttons lower than 44 px: {small}"
    if AXE_JS.exists():
        audit.check(page, name)


def test_the_console_on_a_small_phone(live_server, small_phone, shots):
    base, app = live_server
    agent_with_an_offer(app, earlier_call=True)
    page, audit = small_phone, Audit()
    sign_in(page, base, "agent@example.fr", "/console")
    page.get_by_role("heading", name="Nouvel appel proposé").wait_for()
    assert_fits_a_small_phone(page, "console with an offer", audit)
    shots(page, "console-phone-offer")
    page.get_by_role("button", name="Accepter").tap()
    page.get_by_role("button", name="Démarrer l'appel").wait_for()
    assert_fits_a_small_phone(page, "call card", audit)
    page.get_by_role("button", name="Démarrer l'appel").tap()
    page.get_by_role("button", name="Enregistrer le résultat").wait_for()
    assert_fits_a_small_phone(page, "call card with the outcome form", audit)
    shots(page, "console-phone-card")
    require_axe()  # the sizes are checked; without axe-core, say that its checks were skipped
    audit.assert_clean(impacts=("minor", "moderate", "serious", "critical"))
