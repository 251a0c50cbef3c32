"""The console as an installed app: the service worker installs, the agent turns notifications on,
an offer is pushed (the push service is a fake one on 127.0.0.1, the browser's subscription is
made with keys the test holds), the service worker shows it, and opening it lands on the offer.
Then the connection drops and comes back."""
import json

import pytest
from sqlalchemy import select

from chamber_callback.clock import utcnow
from chamber_callback.extensions import db
from chamber_callback.models import Offer, PushSubscription
from chamber_callback.services import assignment as engine
from tests.e2e.conftest import sign_in
from tests.e2e.test_agent_journey import run_worker
from tests.integration.helpers import make_request, make_staff
from tests.integration.push_fakes import FakeBrowser, FakePushService

pytestmark = pytest.mark.e2e

# Headless chromium has no push service to subscribe with: the page's PushManager hands out a
# subscription on the fake service instead, with the browser's keys the test generated. All the
# rest (the service worker, its push and notification code, the console's script) is the real one.
FAKE_PUSH_MANAGER = """
(() => {
  const subscription = %s;
  let current = null;
  const make = () => ({endpoint: subscription.endpoint, toJSON: () => subscription,
                       unsubscribe: () => { current = null; return Promise.resolve(true); }});
  PushManager.prototype.subscribe = function () { current = make(); return Promise.resolve(current); };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
})();
"""


@pytest.fixture
def push_service():
    service = FakePushService()
    yield service
    service.close()


def test_install_subscribe_receive_an_offer_and_open_it(live_server, browser, push_service):
    base, app = live_server
    with app.app_context():
        agent_id = make_staff(email="mobile@example.fr", availability="available").id
    phone = FakeBrowser()
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="fr-FR")
    context.grant_permissions(["notifications"], origin=base)
    context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(phone.subscription(push_service.endpoint("agent"))))
    page = context.new_page()
    sign_in(page, base, "mobile@example.fr", "/console")

    # Installed: a manifest, and an active service worker controlling the whole site.
    assert page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.ready;
        const worker = registration.active;
        if (worker.state !== "activated") {
            await new Promise(done => worker.addEventListener(
                "statechange", () => worker.state === "activated" && done()));
        }
        return [registration.scope, worker.state];
    }""") == [base + "/", "activated"]
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert manifest["start_url"] == "/console" and manifest["display"] == "standalone"

    # Notifications on, by pressing the button (a user gesture, as browsers require).
    toggle = page.get_by_role("button", name="Activer les notifications")
    toggle.click()
    page.get_by_role("button", name="Désactiver les notifications").wait_for()
    with app.app_context():
        [stored] = db.session.scalars(select(PushSubscription)).all()
        assert stored.staff_user_id == agent_id and stored.endpoint == push_service.endpoint("agent")

    # An offer is made: the job after commit pushes it, readable only with the phone's keys.
    with app.app_context():
        request = make_request(unit="idf-nord-om")
        engine.assign_request(request.id, utcnow())
        offer_id = db.session.scalar(select(Offer.id).where(Offer.request_id == request.id))
        business = request.business_name
    run_worker(app)
    [sent] = push_service.received
    payload = phone.read(sent.body)
    assert payload["title"] == "Nouvel appel proposé — 2 min pour accepter"
    assert business not in json.dumps(payload, ensure_ascii=False)

    # The service worker shows it (delivered as the push service would, through DevTools).
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(300)
    registration_id = next(r["registrationId"] for r in registrations if r["scopeURL"] == base + "/")
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": base, "registrationId": registration_id,
                                                   "data": json.dumps(payload)})
    titles = []
    for _ in range(50):
        titles = page.evaluate("navigator.serviceWorker.ready.then(r => r.getNotifications())"
                               ".then(list => list.map(n => [n.title, n.data && n.data.url]))")
        if titles:
            break
        page.wait_for_timeout(100)
    assert titles == [[payload["title"], f"/console?offre={offer_id}"]]

    # Opening it (the worker's own code, as on a tap): the console on the offer, ready to accept.
    page.goto(base + "/console/historique")
    page.evaluate("url => navigator.serviceWorker.controller.postMessage({type: 'open', url: url})", payload["url"])
    page.wait_for_url(f"**/console?offre={offer_id}")
    page.get_by_role("heading", name="Nouvel appel proposé").wait_for()
    assert business in page.locator(".offer").inner_text()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Accepter"

    # The connection drops: the console says so, and recovers by itself when it returns.
    context.set_offline(True)
    page.get_by_text("Connexion perdue.").wait_for(timeout=10_000)
    context.set_offline(False)
    page.locator("#connection").wait_for(state="hidden", timeout=15_000)
    assert page.locator("#console-status").inner_text() == "Connexion rétablie."
    context.close()
