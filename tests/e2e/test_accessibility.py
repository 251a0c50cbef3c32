"""axe-core on every page, artisan's and staff's: no serious or critical violation anywhere, and
none at all on the agent console (offer, call card, outcome form)."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import Campaign, RegionalUnit
from chamber_callback.services import assignment
from tests.e2e.axe import Audit, require_axe
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.e2e.test_artisan_journey import fill_request
from tests.e2e.test_manager_dashboard import build_a_busy_morning
from tests.integration.campaign_helpers import make_campaign, make_contact
from tests.integration.helpers import make_request, make_staff

pytestmark = pytest.mark.e2e
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


@pytest.fixture(scope="module")
def browser():
    """One chromium for the whole file (overrides conftest's per-test one)."""
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    require_axe()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(browser, phone=False, **options):
    # bypass_csp: axe is added as an inline script, which the app's script-src 'self' forbids.
    size = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
            "has_touch": True} if phone else {"viewport": {"width": 1280, "height": 900}}
    return browser.new_context(locale="fr-FR", bypass_csp=True, **size, **options).new_page()


@pytest.fixture
def page(browser):
    page = _page(browser)
    yield page
    page.context.close()


@pytest.fixture
def phone(browser):
    page = _page(browser, phone=True)
    yield page
    page.context.close()


def visit(audit: Audit, page, base: str, pages) -> None:
    """Open each (name, path) and check it."""
    for name, path in pages:
        response = page.goto(base + path)
        assert response.ok, f"{name}: {path} answered {response.status}"
        audit.check(page, name)


def test_public_pages_and_login(live_server, phone, page):
    base, _app = live_server
    audit = Audit()
    phone.goto(base + "/")
    audit.check(phone, "form")
    phone.get_by_role("button", name="Envoyer ma demande").click()
    phone.locator("#error-summary").wait_for()
    audit.check(phone, "form, submitted empty")
    fill_request(phone, postal_code="05110")  # two départements: the commune is asked
    phone.get_by_label("Ma demande est urgente").check()
    phone.get_by_role("button", name="Envoyer ma demande").click()
    phone.locator("#commune-error").wait_for()
    audit.check(phone, "form, commune and consent missing")
    phone.get_by_label("Commune").select_option(label="Claret")
    phone.get_by_label("Je travaille en première ligne").check()
    phone.locator("#consent").check()
    phone.get_by_role("button", name="Envoyer ma demande").click()
    phone.wait_for_url(re.compile(r".*/confirmation$"))
    audit.check(phone, "confirmation")
    phone.get_by_role("link", name="Voir l'état de ma demande").click()
    audit.check(phone, "status")
    phone.get_by_role("button", name="Annuler ma demande").click()
    audit.check(phone, "status, cancelled")

    page.goto(base + "/connexion")
    audit.check(page, "login")
    page.get_by_label("Adresse e-mail").fill("nobody@example.fr")
    page.get_by_label("Mot de passe").fill("wrong-password")
    page.get_by_role("button", name="Se connecter").click()
    audit.check(page, "login, refused")
    audit.assert_clean()


def test_agent_console(live_server, page):
    base, app = live_server
    app.config["OFFER_TIMEOUT_SECONDS"] = 600
    with app.app_context():
        make_staff(email="agent@example.fr", availability="available")
        request = make_request(now=datetime.now(UTC) - timedelta(hours=2), urgent=True)
        assert assignment.assign_request(request.id, datetime.now(UTC)) is not None
        reference = request.reference
    audit = Audit()
    sign_in(page, base, "agent@example.fr", "/console")
    page.get_by_role("heading", name="Nouvel appel proposé").wait_for()
    audit.check(page, "console, pending offer")
    page.get_by_role("button", name="Accepter").click()
    page.get_by_role("button", name="Démarrer l'appel").wait_for()
    audit.check(page, "console, call card")
    page.get_by_role("button", name="Démarrer l'appel").click()
    page.get_by_role("button", name="Enregistrer le résultat").wait_for()
    audit.check(page, "console, outcome form")
    page.get_by_label("Pas de réponse").check()
    page.get_by_role("button", name="Enregistrer le résultat").click()
    page.get_by_text("Résultat enregistré").wait_for()
    audit.check(page, "console, after the outcome")
    visit(audit, page, base, (("request card", f"/console/demandes/{reference}"), ("history", "/console/historique"),
                              ("my planning", "/console/planning"), ("notifications", "/notifications"),
                              ("password", "/compte/mot-de-passe")))
    # The console is where agents spend the day: not even a minor or moderate violation there.
    on_console = [line for line in audit.lines(ALL_IMPACTS) if line.startswith("console")]
    assert not on_console, "axe found violations on the console:\n" + "\n".join(on_console)
    audit.assert_clean()


def test_manager_pages(live_server, page, browser):
    base, app = live_server
    build_a_busy_morning(app)
    with app.app_context():
        campaign = make_campaign(name="Masques", now=datetime.now(UTC))
        make_contact(campaign, now=datetime.now(UTC))
        campaign_id = db.session.scalar(select(Campaign.id))
    audit = Audit()
    sign_in(page, base, "manager@example.fr", "/pilotage", app)
    page.locator("figure.chart svg").first.wait_for()
    audit.check(page, "dashboard")
    visit(audit, page, base, (
        ("reports", "/rapports?par=day"), ("team queue", "/equipe"), ("team planning", "/equipe/planning"),
        ("forecast", "/pilotage/previsions"), ("campaigns", "/pilotage/campagnes"),
        ("campaign", f"/pilotage/campagnes/{campaign_id}"), ("new campaign", "/pilotage/campagnes/nouvelle"),
        ("campaign import", f"/pilotage/campagnes/{campaign_id}/import"),
        ("prefecture report", "/pilotage/prefecture"), ("prefecture report, print", "/pilotage/prefecture/imprimer"),
    ))
    # The wide tables scroll on a phone: their scrolling regions must be reachable with the keyboard.
    phone = _page(browser, phone=True, storage_state=page.context.storage_state())
    visit(audit, phone, base, (("dashboard, phone", "/pilotage"), ("reports, phone", "/rapports?par=day"),
                               ("forecast, phone", "/pilotage/previsions"),
                               ("prefecture report, phone", "/pilotage/prefecture")))
    phone.context.close()
    audit.assert_clean()


def test_admin_pages(live_server, page):
    base, app = live_server
    with app.app_context():
        make_staff(role="admin", email="admin@example.fr", availability="offline")
        agent_id = make_staff(email="agent@example.fr", availability="offline").id
        make_request(phone="+33612345679")
        unit_id = db.session.scalar(select(RegionalUnit.id).order_by(RegionalUnit.id))
    audit = Audit()
    sign_in(page, base, "admin@example.fr", "/pilotage", app)
    visit(audit, page, base, (
        ("admin home", "/admin/"), ("journal", "/admin/journal"), ("users", "/admin/utilisateurs"),
        ("new user", "/admin/utilisateurs/nouveau"), ("user", f"/admin/utilisateurs/{agent_id}"),
        ("units", "/admin/unites"), ("unit", f"/admin/unites/{unit_id}"), ("topics", "/admin/sujets"),
        ("closed days", "/admin/jours-fermes"), ("holidays", "/admin/jours-feries"), ("SLA", "/admin/delais"),
        ("crisis", "/admin/crise"), ("personal data", "/admin/donnees"),
    ))
    page.goto(base + "/admin/utilisateurs/nouveau")
    page.get_by_role("button", name="Enregistrer").click()
    page.locator(".error-summary").wait_for()
    audit.check(page, "new user, errors")
    page.goto(base + f"/admin/utilisateurs/{agent_id}")
    page.get_by_role("button", name="Réinitialiser le mot de passe").click()
    page.wait_for_load_state()
    audit.check(page, "password shown")
    page.goto(base + "/admin/donnees")
    page.locator("#phone").fill("06 12 34 56 79")
    page.get_by_role("button", name="Chercher").click()
    page.wait_for_url("**/admin/donnees/dossier")
    audit.check(page, "data dossier")
    audit.assert_clean()
