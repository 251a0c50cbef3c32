"""Web Push for offers: subscribing from the console, the push an offer sends (read back with the
browser's keys: no personal data), ended subscriptions deleted, and the installable console's files."""
import pytest
from rq.job import Job
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import Offer, PushSubscription
from chamber_callback.queues import ASSIGNMENT_QUEUE, JSONSerializer
from chamber_callback.services import assignment as engine
from chamber_callback.services import push

from .helpers import T0, make_request, make_staff, sign_in
from .push_fakes import FakeBrowser, FakePushService


@pytest.fixture
def push_service():
    service = FakePushService()
    yield service
    service.close()


def subscribed_agent(service, name="phone", browser=None):
    agent = make_staff(capacity=2)
    browser = browser or FakeBrowser()
    push.subscribe(agent.id, push.parse_subscription(browser.subscription(service.endpoint(name))), "Firefox", T0)
    return agent, browser


def subscriptions(agent_id=None):
    db.session.expire_all()
    query = select(PushSubscription)
    if agent_id is not None:
        query = query.where(PushSubscription.staff_user_id == agent_id)
    return list(db.session.scalars(query))


def test_an_agent_subscribes_from_the_console_and_unsubscribes(app, client):
    agent = make_staff()
    sign_in(client, agent)
    page = client.get("/console").get_data(as_text=True)
    assert 'id="push-toggle"' in page and f'data-key="{push.public_key()}"' in page
    subscription = FakeBrowser().subscription("https://push.example.net/send/abc")
    response = client.post("/console/notifications-push", json=subscription)
    assert response.status_code == 201 and response.json["message"] == "Notifications activées sur cet appareil."
    client.post("/console/notifications-push", json=subscription)  # the console refreshes it on each visit
    [row] = subscriptions(agent.id)
    assert (row.endpoint, row.p256dh, row.auth) == (subscription["endpoint"], *subscription["keys"].values())
    response = client.post("/console/notifications-push/supprimer", json={"endpoint": row.endpoint})
    assert response.status_code == 200 and subscriptions() == []


def test_a_bad_subscription_gets_a_clear_message_and_writes_nothing(app, client):
    sign_in(client, make_staff())
    for body, message in (("pas du json", "Abonnement aux notifications illisible."),
                          ({"endpoint": "ftp://x", "keys": {}}, "Adresse de notification invalide."),
                          ({"endpoint": "https://push.example.net/1", "keys": {"p256dh": "abc", "auth": "def"}},
                           "Clés de notification invalides.")):
        response = client.post("/console/notifications-push", json=body) if isinstance(body, dict) else \
            client.post("/console/notifications-push", data=body, content_type="application/json")
        assert response.status_code == 422 and response.json["error"] == message
    assert subscriptions() == []


def test_the_same_browser_signed_in_as_another_agent_moves_over(app):
    subscription = push.parse_subscription(FakeBrowser().subscription("https://push.example.net/phone"))
    first, second = make_staff(), make_staff()
    push.subscribe(first.id, subscription, None, T0)
    push.subscribe(second.id, subscription, None, T0)
    assert [row.staff_user_id for row in subscriptions()] == [second.id]


def test_an_offer_is_pushed_after_commit_with_no_personal_data(app, push_service, run_jobs, freeze_clock):
    agent, browser = subscribed_agent(push_service)
    request = make_request()
    freeze_clock(T0)
    assert engine.assign_request(request.id, T0) == agent.id
    offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id))
    job = Job.fetch(f"push-offer-{offer.id}", connection=app.extensions["redis"], serializer=JSONSerializer)
    assert job.args == [offer.id]
    assert job.origin == ASSIGNMENT_QUEUE  # ahead of the artisans' texts: the offer lasts 2 minutes
    run_jobs()
    [sent] = push_service.received
    assert sent.path == "/push/phone" and sent.headers["urgency"] == "high"
    assert int(sent.headers["ttl"]) == 120 and sent.headers["authorization"].startswith("vapid t=")
    payload = browser.read(sent.body)
    assert payload["title"] == "Nouvel appel proposé — 2 min pour accepter"
    assert payload["url"] == f"/console?offre={offer.id}" and payload["tag"] == f"offer-{offer.id}"
    readable = str(payload)
    for personal in (request.name, request.business_name, request.phone, request.phone[3:], request.reference):
        assert personal not in readable
    assert subscriptions(agent.id)[0].last_sent_at == T0


def test_ended_subscriptions_are_deleted_and_an_unwell_service_keeps_them(app, push_service, freeze_clock):
    agent, _browser = subscribed_agent(push_service, "revoked")
    for name in ("uninstalled", "unwell", "fine"):
        push.subscribe(agent.id, push.parse_subscription(FakeBrowser().subscription(push_service.endpoint(name))),
                       None, T0)
    push_service.status.update({"/push/revoked": 410, "/push/uninstalled": 404, "/push/unwell": 503})
    request = make_request()
    engine.assign_request(request.id, T0)
    offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id))
    assert push.send_offer(offer.id, T0) == 1
    assert sorted(row.endpoint.rsplit("/", 1)[1] for row in subscriptions(agent.id)) == ["fine", "unwell"]
    assert len(push_service.received) == 4


def test_no_push_once_the_offer_is_answered_or_expired_or_without_subscription(app, push_service, run_jobs,
                                                                               freeze_clock):
    agent, _browser = subscribed_agent(push_service)
    request = make_request()
    engine.assign_request(request.id, T0)
    offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id))
    assert push.send_offer(offer.id, offer.expires_at) == 0  # too late: the phone would ring for nothing
    engine.accept_offer(offer.id, agent, T0)
    freeze_clock(T0)
    run_jobs()
    assert push_service.received == []
    lonely = make_staff()
    other = make_request()
    db.session.execute(db.update(Offer).values(status="declined"))
    engine.set_availability(agent, "offline", T0)
    assert engine.assign_request(other.id, T0) == lonely.id
    offer = db.session.scalar(select(Offer).where(Offer.request_id == other.id))
    assert Job.exists(f"push-offer-{offer.id}", connection=app.extensions["redis"]) is False


def test_the_console_installs_as_an_app(app, client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    data = manifest.json
    assert data["start_url"] == "/console" and data["display"] == "standalone" and data["scope"] == "/"
    assert "Chambre de métiers" in data["name"]
    for icon in data["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.data[:8] == b"\x89PNG\r\n\x1a\n", icon
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    worker = client.get("/service-worker.js")
    assert worker.status_code == 200 and worker.mimetype in ("text/javascript", "application/javascript")
    assert worker.headers["Service-Worker-Allowed"] == "/" and "notificationclick" in worker.get_data(as_text=True)
    offline = client.get("/console/hors-ligne").get_data(as_text=True)
    assert "Pas de connexion" in offline and "se rouvrira d'elle-même" in offline
    sign_in(client, make_staff())
    console = client.get("/console").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in console and "apple-touch-icon" in console
