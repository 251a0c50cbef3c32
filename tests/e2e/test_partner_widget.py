"""A partner's page on another site shows « Être rappelé »: the dialog opens the chamber's form, which
an artisan fills in and sends inside the iframe, without the chamber's cookies.

The partner page is docs/widget-demo.html, served by a second server and opened as
http://localhost:<port>, while the chamber is the live server on http://127.0.0.1:<port>: two
different sites for the browser (not only two origins), so the session cookie (SameSite=Lax) is
neither stored nor sent in the iframe, as on a real partner site.
"""
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from chamber_callback.clock import utcnow
from chamber_callback.domain.actors import SYSTEM
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest
from chamber_callback.services import settings
from tests.e2e.test_artisan_journey import fill_request

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).resolve().parents[2] / "docs" / "widget-demo.html"
CODE = "federation-boulangerie"
FORM_FRAME = 'iframe[title="Formulaire de demande de rappel"]'
BRAND = "rgb(11, 79, 138)"


@pytest.fixture
def partner_site(live_server):
    """The demo partner page, pointed at the live server, served from another site."""
    base, _app = live_server
    html = DEMO.read_text(encoding="utf-8").replace("http://127.0.0.1:5000", base)
    assert f'<script src="{base}/widget.js" defer></script>' in html
    assert f'<div data-chamber-callback="{CODE}"></div>' in html

    def partner(environ, start_response):
        return Response(html, mimetype="text/html")(environ, start_response)

    server = make_server("127.0.0.1", 0, partner, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()


def allow(app, value: str) -> None:
    with app.app_context():
        settings.update({"PARTNER_SITES": value}, SYSTEM, utcnow())


def shadow_focus(page) -> str:
    """The text of the focused element inside the widget's shadow root."""
    return page.evaluate("() => { const root = document.querySelector('[data-chamber-callback]').shadowRoot;"
                         " return root.activeElement ? root.activeElement.textContent : ''; }")


def test_a_partner_page_opens_the_form_and_sends_a_request(live_server, partner_site, laptop_page):
    base, app = live_server
    allow(app, f"{CODE} {partner_site}")
    page = laptop_page
    page.goto(partner_site + "/")
    button = page.get_by_role("button", name="Être rappelé")
    button.wait_for()
    # The partner's CSS (red, italic, upper case, dashed) does not reach the chamber's button.
    style = button.evaluate("b => { const s = getComputedStyle(b);"
                            " return [s.backgroundColor, s.fontStyle, s.textTransform, s.borderTopStyle]; }")
    assert style == [BRAND, "normal", "none", "solid"]
    assert page.get_by_role("button", name="Un bouton du partenaire").evaluate(
        "b => getComputedStyle(b).fontStyle") == "italic"  # and the widget does not restyle the page

    # Keyboard: focus moves into the dialog, Escape closes it, focus returns to the button.
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Être rappelé")
    dialog.wait_for(state="visible")
    assert shadow_focus(page) == "Fermer"
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert shadow_focus(page) == "Être rappelé"

    # « Fermer » closes it too; a centred panel on a laptop.
    button.click()
    dialog.wait_for(state="visible")
    box = dialog.bounding_box()
    assert box["width"] == 640 and abs(box["x"] - (1280 - 640) / 2) < 2 and box["height"] < 900
    page.get_by_role("button", name="Fermer").click()
    dialog.wait_for(state="hidden")
    assert shadow_focus(page) == "Être rappelé"

    # The form in the iframe: the chamber's own page, embedded.
    button.click()
    form = page.frame_locator(FORM_FRAME)
    form.get_by_role("heading", name="Être rappelé par un conseiller").wait_for()
    assert form.locator(".site-header").count() == 0
    fill_request(form)
    form.locator("#consent").check()
    form.get_by_role("button", name="Envoyer ma demande").click()
    form.get_by_role("heading", name="Votre demande est enregistrée").wait_for()
    reference = form.locator(".reference").first.inner_text()

    with app.app_context():
        request = db.session.scalar(select(CallbackRequest))
        assert (request.reference, request.channel) == (reference, f"web:{CODE}")
    # It worked without the chamber's cookies: the browser kept none from the iframe (another site).
    assert [c["name"] for c in page.context.cookies(base)] == []

    # The status page opens in the dialog too; Escape pressed inside the form closes the dialog.
    form.get_by_role("link", name="Voir l'état de ma demande").click()
    form.get_by_role("heading", name="Suivi de votre demande de rappel").wait_for()
    form.get_by_role("button", name="Annuler ma demande").focus()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert shadow_focus(page) == "Être rappelé"
    # Reopened: as it was left.
    button.click()
    form.get_by_role("button", name="Annuler ma demande").click()
    form.get_by_text("Cette demande est annulée").wait_for()
    with app.app_context():
        assert db.session.scalar(select(CallbackRequest.status)) == "cancelled"


def test_the_dialog_is_full_screen_on_a_phone(live_server, partner_site, phone_page):
    _base, app = live_server
    allow(app, f"{CODE} {partner_site}")
    page = phone_page
    page.goto(partner_site + "/")
    page.get_by_role("button", name="Être rappelé").click()
    dialog = page.get_by_role("dialog", name="Être rappelé")
    dialog.wait_for(state="visible")
    page.frame_locator(FORM_FRAME).get_by_label("Vos nom et prénom").wait_for()
    box = dialog.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)


def test_a_site_not_in_the_list_cannot_frame_the_form(live_server, partner_site, laptop_page):
    _base, app = live_server
    allow(app, f"{CODE} https://www.boulangers.example.fr")  # the partner's real site, not this page's
    page = laptop_page
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(partner_site + "/")
    with page.expect_event("frameattached"):
        page.get_by_role("button", name="Être rappelé").click()
    framed = page.frames[1]
    framed.wait_for_load_state()
    # Chromium refuses to show the chamber's page in the iframe (frame-ancestors): no form there.
    assert framed.url.startswith("chrome-error://")
    assert page.frame_locator(FORM_FRAME).locator("form.intake").count() == 0
    assert any("frame-ancestors https://www.boulangers.example.fr" in text for text in console)
