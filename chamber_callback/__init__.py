"""chamber-callback: a crisis click-to-call callback queue for a chamber of trades and crafts."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, has_request_context, request
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import PROJECT_ROOT, engine_options, load_config
from .extensions import babel, csrf, db, limiter, migrate

# Paths carrying an artisan's private token; masked wherever a path is logged.
PRIVATE_PATH = re.compile(r"/(suivi|demande|callback-requests)/[A-Za-z0-9_-]{20,}")


class ChamberFlask(Flask):
    def log_exception(self, exc_info) -> None:
        path = PRIVATE_PATH.sub(r"/\1/…", request.path)
        self.logger.error("Exception on %s [%s]", path, request.method, exc_info=exc_info)


def create_app(config: dict | None = None) -> Flask:
    """Build the application; ``config`` entries win over the environment."""
    settings = load_config()
    overrides = dict(config or {})
    if "DATABASE_URL" in overrides:
        overrides["SQLALCHEMY_DATABASE_URI"] = overrides.pop("DATABASE_URL")
    settings.update(overrides)
    if "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(settings["SQLALCHEMY_DATABASE_URI"])
    settings.setdefault("RATELIMIT_STORAGE_URI", settings["REDIS_URL"])

    app = ChamberFlask(__name__, instance_path=str(Path(settings["INSTANCE_PATH"]).resolve()))
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from .web import BoundedIntConverter, ChamberRequest, ReferenceConverter

    app.request_class = ChamberRequest
    # Before the blueprints' routes use them.
    app.url_map.converters["ref"] = ReferenceConverter
    app.url_map.converters["int"] = BoundedIntConverter
    # The chamber's own templates (SITE_TEMPLATES, by default the top-level templates/) override the
    # packaged ones, which include the defaults of site/footer.html and site/privacy_link.html.
    app.jinja_loader = ChoiceLoader([FileSystemLoader(app.config["SITE_TEMPLATES"]), app.jinja_loader])

    from .logging_setup import configure_logging

    configure_logging(app.config["LOG_FORMAT"])
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    limiter.init_app(app)
    from .auth import login_manager

    login_manager.init_app(app)

    from .queues import connect_redis

    app.extensions["redis"] = connect_redis(app.config["REDIS_URL"])
    from .telephony.base import build_telephony

    # Built now: missing Twilio settings fail at start, and the SDK client exists once.
    app.extensions["telephony"] = build_telephony(app.config)

    from . import models  # noqa: F401  (register the tables with the metadata)
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .manager import bp as manager_bp
    from .ops import bp as ops_bp
    from .public import bp as public_bp
    from .staff import bp as staff_bp
    from .webhooks import bp as webhooks_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(manager_bp)
    app.register_blueprint(webhooks_bp)
    csrf.exempt(webhooks_bp)  # signed by Twilio instead
    limiter.exempt(webhooks_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ops_bp)
    csrf.exempt(api_bp)  # token-less JSON API: no cookie auth, so no CSRF exposure

    from .cors import init_cors
    from .web import init_web

    init_cors(app)
    init_web(app)
    from .metrics import init_metrics

    init_metrics(app)

    from .cli import register_cli

    register_cli(app)
    return app


# The language the reader chose with the footer's switch (public.set_language).
LANGUAGE_COOKIE = "lang"


def available_languages() -> list[str]:
    """The languages the site can be read in: French, the default, first, then each compiled catalogue's."""
    languages = [str(locale) for locale in babel.list_translations()]
    return ["fr", *(language for language in languages if language != "fr")]


def _select_locale() -> str | None:
    # The reader's choice (the « lang » cookie) when we have that language, else the browser's
    # preferred one among those we have, else French. Jobs (no request): French.
    if not has_request_context():
        return None
    available = available_languages()
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in available:
        return chosen
    return _browser_language(available) or "fr"


def _browser_language(available: list[str]) -> str | None:
    """The first language of Accept-Language (by quality) that we have, « en-GB » matching « en ».
    (Werkzeug's best_match would prefer an exact « fr;q=0.8 » to « en-US » at full quality.)"""
    for value, _quality in request.accept_languages:  # highest quality first
        if value == "*":
            return available[0]
        tag = value.lower().replace("_", "-")
        for exact in (True, False):
            for language in available:
                ours = language.lower().replace("_", "-")
                same = tag == ours if exact else tag.split("-")[0] == ours.split("-")[0]
                if same:
                    return language
    return None

