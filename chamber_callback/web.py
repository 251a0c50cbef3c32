"""Cross-cutting web concerns: security headers, error pages, template helpers."""
from __future__ import annotations

import ipaddress
import logging
import re

from flask import Flask, Request, Response, g, jsonify, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import BaseConverter, IntegerConverter

from . import formatting, labels, presenters
from .domain import roles
from .domain.intake import N_, format_phone_national
from .domain.reference import normalise_reference
from .extensions import db
from .services import settings

log = logging.getLogger(__name__)

CSP_BASE = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'")
CSP = CSP_BASE + "; frame-ancestors 'none'"


def csp_framed_by(origins) -> str:
    """The policy of an embedded page (``public/embedding.py``): only these origins may frame it."""
    return f"{CSP_BASE}; frame-ancestors {' '.join(origins)}"


# Pages reached through the artisan's private link: never cached by a browser or a proxy.
PRIVATE_PAGES = {"public.confirmation", "public.status", "public.status_cancel", "public.status_erase",
                 "api.callback_request"}


HTTP_TITLES = {400: N_("Demande invalide"), 403: N_("Accès refusé"), 405: N_("Méthode non permise"),
               413: N_("Demande trop volumineuse"), 415: N_("Format non pris en charge")}
HTTP_MESSAGES = {403: N_("Votre compte ne permet pas d'ouvrir cette page."),
                 413: N_("Le contenu envoyé est trop volumineux.")}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def problem(status: int, title: str, detail: str | None = None, **extra):
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a larger number names nothing
INTEGER = re.compile(r"-?[0-9]{1,12}")  # ASCII digits only: "²" or "١" are digits to str.isdigit()


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in every route, bounded: a huge number is a 404, not a database error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def client_address() -> str:
    """The client, for rate limits: its IP address, or for IPv6 its /64 (one subscriber's network)."""
    address = request.remote_addr or "-"
    if ":" in address:
        try:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        except ValueError:
            return address
    return address


def int_arg(source, name: str, low: int = 1, high: int = MAX_ID) -> int | None:
    """An integer query or form parameter within [low, high]; None when absent or unreadable."""
    raw = (source.get(name) or "").strip()
    if not INTEGER.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


class ChamberRequest(Request):
    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        """A JSON body nested too deeply is invalid JSON (a 400), not a RecursionError (a 500)."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("JSON nested too deeply") from None


class ReferenceConverter(BaseConverter):
    """``<ref:reference>`` in a route: the reference as a person types it (lower case, spaces,
    no dash) reaches the view normalised (``domain.reference.normalise_reference``)."""

    def to_python(self, value: str) -> str:
        return normalise_reference(value)


def init_web(app: Flask) -> None:
    from .logging_setup import REQUEST_ID, request_id_from
    from .public import embedding

    @app.before_request
    def name_the_request() -> None:
        g.request_id = request_id_from(request.headers.get("X-Request-ID"))
        g.request_id_token = REQUEST_ID.set(g.request_id)

    @app.teardown_request
    def forget_the_request(_error) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            REQUEST_ID.reset(token)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        if "request_id" in g:
            headers["X-Request-ID"] = g.request_id
        # A partner's dialog may frame the embedded pages, and nothing else may frame any page.
        partner_origins = embedding.frame_ancestors()
        if partner_origins:
            headers.setdefault("Content-Security-Policy", csp_framed_by(partner_origins))
        else:
            headers.setdefault("Content-Security-Policy", CSP)
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin: the private status link never leaks to another site through Referer.
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["APP_ENV"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint in PRIVATE_PAGES:
            headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(404)
    def not_found(_error):
        if wants_json():
            return problem(404, _("Ressource introuvable"))
        return render_template("errors/error.html", code=404, title=_("Page introuvable"),
                               message=_("Cette page n'existe pas ou le lien est incomplet.")), 404

    @app.errorhandler(429)
    def too_many(_error):
        if wants_json():
            return problem(429, _("Trop de demandes"), _("Réessayez dans quelques minutes."))
        return render_template("errors/error.html", code=429, title=_("Trop de demandes"),
                               message=_("Vous avez envoyé plusieurs demandes en peu de temps. "
                                         "Patientez quelques minutes avant de réessayer.")), 429

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return render_template("errors/error.html", code=400, title=_("Formulaire expiré"),
                               message=_("La page était restée ouverte trop longtemps ou a été envoyée deux "
                                         "fois. Rechargez-la et réessayez.")), 400

    @app.errorhandler(HTTPException)
    def other_http_error(error: HTTPException):
        """Every other 4xx: problem+json on the API, a short line of text for Twilio, a page otherwise."""
        code = error.code or 500
        title = HTTP_TITLES.get(code, error.name)
        if wants_json():
            return problem(code, _(title), _(HTTP_MESSAGES[code]) if code in HTTP_MESSAGES else None)
        if request.path.startswith("/webhooks/"):
            return Response(f"{code} {error.name}\n", status=code, mimetype="text/plain")
        message = error.description if code == 400 and error.description != BadRequest.description else _(
            HTTP_MESSAGES.get(code, N_("La demande n'a pas pu être traitée.")))
        return render_template("errors/error.html", code=code, title=_(title), message=message), code

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(_error):
        """The database does not answer (restarting, unreachable, locked): the transaction is
        rolled back, so nothing is half-written, and the person is told to retry or phone."""
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.close()
        log.warning("database unavailable: %s", type(getattr(_error, "orig", None) or _error).__name__)
        phone = app.config["CHAMBER_PHONE"]
        if wants_json():
            response = problem(503, _("Service momentanément indisponible"),
                               _("Réessayez dans quelques minutes. Si c'est urgent, appelez la chambre au "
                                 "%(phone)s.", phone=phone), chamber_phone=phone)
        else:
            response = app.make_response((render_template("errors/unavailable.html"), 503))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(500)
    def server_error(_error):
        if wants_json():
            return problem(500, _("Erreur interne"), _("Réessayez plus tard."))
        return render_template("errors/error.html", code=500, title=_("Erreur du service"),
                               message=_("Un incident nous empêche de traiter votre demande. "
                                         "Réessayez dans quelques minutes.")), 500

    app.jinja_env.filters["phone_national"] = format_phone_national
    formatting.register(app)  # local_datetime, local_date, local_time, number: in the reader's language
    app.jinja_env.globals.update(
        status_label=labels.status_label,
        sector_label=labels.sector_label,
        campaign_card=presenters.campaign_card,
        urgency_label=labels.urgency_label,
        duplicate_message=labels.duplicate_message,
        expected_callback=labels.expected_callback,
        no_window_reason=labels.no_window_reason,
        current_locale=formatting.language_tag,
        chamber_name=lambda: app.config["CHAMBER_NAME"],
        chamber_phone=lambda: settings.display_get("CHAMBER_PHONE"),
        chamber_hours=lambda: settings.display_get("CHAMBER_HOURS"),
        legal_basis=lambda: app.config["LEGAL_BASIS"],
        dpo_contact=lambda: settings.display_get("DPO_CONTACT"),
        privacy_notice_url=lambda: settings.display_get("PRIVACY_NOTICE_URL"),
        sla_hours=lambda: format_decimal(settings.display_get("SLA_HOURS")),
        intake_state=lambda: settings.intake_state(settings.display_get),
        public_banner=settings.public_banner,
        embedded_partner=embedding.current_partner,
        embedded_origins=embedding.frame_ancestors,
        embed_token_field=embedding.embed_token_field,
        at_risk_share=labels.at_risk_share,
        at_risk_words=labels.at_risk_words,
        may=lambda policy: current_user.is_authenticated and roles.may(current_user.role, policy),
    )
