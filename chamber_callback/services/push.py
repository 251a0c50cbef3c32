"""Web Push to agents' browsers: an offer made to an agent reaches its phone even when the console
is in a background tab or closed.

The keys are VAPID (RFC 8292): one private key for the site (``VAPID_PRIVATE_KEY``), whose public
half the browser receives when it subscribes. A push carries no personal data: only that a call
is offered, how long the agent has, and where to open it. A subscription the push service
answers 404 or 410 for has ended (the agent revoked it, or uninstalled the app) and is deleted.
"""
from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask_babel import gettext as _
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select

from ..extensions import db
from ..models import Offer, PushSubscription
from .unit_of_work import unit_of_work

log = logging.getLogger(__name__)

GONE = {404, 410}  # the push service says this subscription no longer exists
SEND_TIMEOUT_SECONDS = 10


class SubscriptionError(ValueError):
    """What the browser sent is not a usable push subscription (shown to the agent)."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_private_key() -> str:
    """A new VAPID private key: the raw 32-byte P-256 scalar in base64url (``flask vapid-keys``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _b64(key.private_numbers().private_value.to_bytes(32, "big"))


def public_key_of(private_key: str) -> str:
    """The application server key a browser subscribes with: the uncompressed public point."""
    vapid = Vapid.from_string(private_key)
    return _b64(vapid.public_key.public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint))


def enabled() -> bool:
    return bool(current_app.config.get("VAPID_PRIVATE_KEY"))


def public_key() -> str | None:
    return public_key_of(current_app.config["VAPID_PRIVATE_KEY"]) if enabled() else None


# --- subscriptions ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


def parse_subscription(data) -> Subscription:
    """The JSON of ``PushSubscription.toJSON()``, checked (``SubscriptionError`` in French)."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise SubscriptionError(_("Abonnement aux notifications illisible."))
    endpoint, keys = data.get("endpoint"), data["keys"]
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")) or len(endpoint) > 1000:
        raise SubscriptionError(_("Adresse de notification invalide."))
    for value, size in ((p256dh, 65), (auth, 16)):
        try:
            ok = isinstance(value, str) and len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) == size
        except ValueError:
            ok = False
        if not ok:
            raise SubscriptionError(_("Clés de notification invalides."))
    return Subscription(endpoint, p256dh, auth)


def subscribe(agent_id: int, subscription: Subscription, user_agent: str | None, now: datetime) -> None:
    """Store this browser for this agent; the same browser signed in as someone else moves over."""
    with unit_of_work():
        row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == subscription.endpoint)
                                .with_for_update())
        if row is None:
            row = PushSubscription(endpoint=subscription.endpoint, created_at=now)
            db.session.add(row)
        row.staff_user_id, row.p256dh, row.auth = agent_id, subscription.p256dh, subscription.auth
        row.user_agent = (user_agent or "")[:200] or None


def unsubscribe(agent_id: int, endpoint: str) -> bool:
    with unit_of_work():
        return db.session.execute(delete(PushSubscription).where(
            PushSubscription.staff_user_id == agent_id, PushSubscription.endpoint == endpoint)).rowcount > 0


def has_subscription(agent_id: int) -> bool:
    return db.session.scalar(select(PushSubscription.id).where(PushSubscription.staff_user_id == agent_id)
                             .limit(1)) is not None


# --- sending ---------------------------------------------------------------------------------

def offer_payload(offer: Offer, now: datetime) -> dict:
    """What the notification says: no name, no business, no phone number, no topic."""
    seconds = max(int((offer.expires_at - now).total_seconds()), 0)
    minutes = max(round(seconds / 60), 1)
    return {
        "title": _("Nouvel appel proposé — %(minutes)s min pour accepter", minutes=minutes),
        "body": _("Ouvrez la console pour accepter ou refuser l'appel."),
        "url": f"/console?offre={offer.id}",
        "tag": f"offer-{offer.id}",
        "expires_at": offer.expires_at.isoformat(),
    }


def send_offer(offer_id: int, now: datetime) -> int:
    """Tell the agent's browsers about a pending offer; returns how many accepted the push.

    Safe to run twice (a second run of the job sends the notification again under the same tag,
    which replaces it on the phone) and a no-op once the offer is no longer pending."""
    offer = db.session.get(Offer, offer_id)
    if offer is None or offer.status != "pending" or offer.expires_at <= now or not enabled():
        return 0
    subscriptions = list(db.session.scalars(select(PushSubscription)
                                            .where(PushSubscription.staff_user_id == offer.agent_id)))
    payload = json.dumps(offer_payload(offer, now), ensure_ascii=False)
    ttl = max(int((offer.expires_at - now).total_seconds()), 1)  # useless once the offer expired
    vapid = Vapid.from_string(current_app.config["VAPID_PRIVATE_KEY"])
    delivered, gone = 0, []
    for row in subscriptions:
        try:
            webpush({"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}}, data=payload,
                    vapid_private_key=vapid, vapid_claims={"sub": current_app.config["VAPID_SUBJECT"]},
                    ttl=ttl, timeout=SEND_TIMEOUT_SECONDS, headers={"Urgency": "high"})
        except WebPushException as error:
            status = error.response.status_code if error.response is not None else None
            if status in GONE:
                gone.append(row.id)
            else:  # the push service is unwell: the console's own polling still shows the offer
                log.warning("push for offer %s not accepted (%s)", offer_id, status or type(error).__name__)
            continue
        except OSError as error:  # connection refused, DNS, timeout (requests' errors are OSErrors)
            log.warning("push for offer %s not sent: %s", offer_id, type(error).__name__)
            continue
        row.last_sent_at = now
        delivered += 1
    if gone:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
        log.info("%s ended push subscription(s) deleted", len(gone))
    db.session.commit()
    return delivered
