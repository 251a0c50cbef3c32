"""The agent console as an installable web app: its manifest, its service worker (served from the
site root, so its scope covers the console), the page shown when the console opens offline, and
the Web Push subscriptions an agent makes from the console."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..clock import utcnow
from ..domain.roles import TAKES_CALLS
from ..services import push
from . import bp

ICON_SIZES = (192, 512)


@bp.get("/manifest.webmanifest")
def manifest():
    name = current_app.config["CHAMBER_NAME"]
    response = jsonify({
        "name": _("Console des appels · %(chamber)s", chamber=name),
        "short_name": _("Rappels"),
        "description": _("Les appels proposés aux agents de la cellule de crise."),
        "lang": current_app.config["BABEL_DEFAULT_LOCALE"],
        "start_url": url_for("staff.console"),
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#0b4f8a",
        "icons": [
            *({"src": url_for("static", filename=f"icons/icon-{size}.png"), "sizes": f"{size}x{size}",
               "type": "image/png", "purpose": "any"} for size in ICON_SIZES),
            {"src": url_for("static", filename="icons/icon-maskable-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
    })
    response.mimetype = "application/manifest+json"
    response.cache_control.max_age = 3600
    return response


@bp.get("/service-worker.js")
def service_worker():
    """From the root, so that the worker's scope is the whole site (the console and its offers)."""
    response = send_from_directory(current_app.static_folder, "js/service-worker.js", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.cache_control.no_cache = True  # a new version is picked up at the next visit
    return response


@bp.get("/console/hors-ligne")
def offline():
    """Kept by the service worker, shown when the console is opened without a connection."""
    return render_template("staff/offline.html")


@bp.post("/console/notifications-push")
@roles_required(TAKES_CALLS)
def push_subscribe():
    if not push.enabled():
        return jsonify(error=_("Les notifications ne sont pas configurées sur ce site.")), 404
    try:
        subscription = push.parse_subscription(request.get_json(silent=True))
    except push.SubscriptionError as error:
        return jsonify(error=str(error)), 422
    push.subscribe(current_user.id, subscription, request.headers.get("User-Agent"), utcnow())
    return jsonify(subscribed=True, message=_("Notifications activées sur cet appareil.")), 201


@bp.post("/console/notifications-push/supprimer")
@roles_required(TAKES_CALLS)
def push_unsubscribe():
    data = request.get_json(silent=True) or {}
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str):
        return jsonify(error=_("Adresse de notification invalide.")), 422
    push.unsubscribe(current_user.id, endpoint)
    return jsonify(subscribed=False, message=_("Notifications désactivées sur cet appareil."))
