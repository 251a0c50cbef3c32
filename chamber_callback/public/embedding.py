"""The embedded mode of the public pages: the form inside a partner site's « Être rappelé » dialog.

A partner site pastes two lines (README, « Le bouton « Être rappelé » pour les sites
partenaires »); ``/widget.js`` draws the button and opens the form in an iframe at
``/?partenaire=<code>``. The code must be one of ``PARTNER_SITES`` (an admin setting, lines of
``code origin``); then, and only then, the page is *embedded*:

- the same views, form and validation as the normal pages (``@embeddable`` is the flag), without
  the site's header and footer; links, redirects and form actions of the public pages keep
  ``?partenaire=<code>`` by themselves (``stay_embedded``), so the confirmation, the status page
  and its buttons stay in the dialog;
- its ``Content-Security-Policy`` has ``frame-ancestors`` with that partner's origins, and no
  ``X-Frame-Options`` (which cannot name an origin); every other page keeps
  ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (``web.security_headers``);
- a request made there has ``channel = "web:<code>"``.

Any other code (unknown, or not ``[a-z0-9-]{1,32}``) is ignored: the page is the normal one, which
no site may frame, and the channel stays ``web``.

CSRF inside a third-party iframe. Flask-WTF keeps its token in the session cookie, which is
``SameSite=Lax``: a browser does not send it, nor store it, in an iframe of another site, and
Safari, Brave, Firefox's strict mode and private windows refuse third-party cookies whatever their
SameSite. Making the session cookie ``SameSite=None; Secure`` would not work there, would need
HTTPS (not the demo nor the tests), and would weaken the staff's session cookie, which is the same
cookie. So embedded pages do not use the cookie at all (``check_embedded_post``):

1. the browser's own headers prove where the POST comes from: ``Origin`` must be the chamber's
   own origin and ``Sec-Fetch-Site`` (Fetch Metadata), when sent, ``same-origin`` (the form in the
   iframe is a page of ours; a page of another site posting to us carries its own origin, and no
   page can forge these headers); at least one of the two must be there (every current browser
   sends both);
2. a signed token in the form (``embed_token``, HMAC of the partner code with ``SECRET_KEY``,
   ``EMBED_TOKEN_MAX_AGE``), so a POST needs a page we rendered for that partner.

That is OWASP's "verify the origin with standard headers" with a stateless token on top. What the
session gave the normal form (finding one's own link again after a double tap) is a comfort that
the embedded form does without: a second submission shows « demande déjà en cours ».
"""
from __future__ import annotations

import re
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request
from flask_wtf.csrf import CSRFError
from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import Markup, escape

from ..extensions import csrf
from ..services import settings
from . import bp

PARTNER_PARAM = "partenaire"
PARTNER_CODE = re.compile(r"[a-z0-9-]{1,32}")
TOKEN_FIELD = "embed_token"
EMBED_TOKEN_MAX_AGE = 24 * 3600  # a page left open for a day still sends
_SALT = "chamber_callback.partner-form"
_CACHE_KEY = "chamber_callback.embedded_partner"
EMBEDDABLE: set[str] = set()  # endpoints of the views marked @embeddable


def embeddable(view):
    """Mark a public view as one that can be shown in a partner's dialog, and check CSRF for it:
    the usual Flask-WTF check (session cookie) for normal pages, ``check_embedded_post`` for
    embedded ones. The view is exempted from CSRFProtect's own check, which cannot tell the two
    apart, and does the right one itself."""
    EMBEDDABLE.add(f"{bp.name}.{view.__name__}")

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method in current_app.config["WTF_CSRF_METHODS"] and current_app.config["WTF_CSRF_ENABLED"]:
            partner = current_partner()
            if partner:
                check_embedded_post(partner)
            else:
                csrf.protect()
        return view(*args, **kwargs)

    csrf.exempt(wrapper)
    return wrapper


def requested_code() -> str | None:
    code = request.args.get(PARTNER_PARAM, "")
    return code if PARTNER_CODE.fullmatch(code) else None


def current_partner() -> str | None:
    """The partner code when this request is an embedded page (an @embeddable view, an allowed
    code), else None. Read once per request; error pages of such a request are embedded too."""
    if not has_request_context():
        return None
    if _CACHE_KEY not in request.environ:
        request.environ[_CACHE_KEY] = _find_partner()
    return request.environ[_CACHE_KEY]


def _find_partner() -> str | None:
    if request.endpoint not in EMBEDDABLE:
        return None
    code = requested_code()
    return code if code and settings.partner_sites().get(code) else None


def frame_ancestors() -> tuple[str, ...]:
    """The origins that may frame this response: the partner's, on an embedded page; else none."""
    partner = current_partner()
    return settings.partner_sites().get(partner, ()) if partner else ()


def form_meta() -> dict:
    """WTForms meta for a form of this page: no session-bound CSRF field on an embedded page."""
    return {"csrf": False} if current_partner() else {}


@bp.url_defaults
def stay_embedded(endpoint: str, values: dict) -> None:
    """``url_for`` to a public page from an embedded page keeps ``?partenaire=<code>``; pass
    ``partenaire=None`` for a link meant to be opened outside the dialog."""
    if endpoint in EMBEDDABLE and PARTNER_PARAM not in values:
        partner = current_partner()
        if partner:
            values[PARTNER_PARAM] = partner


# --- CSRF without the cookie -------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def embed_token(partner: str) -> str:
    return _serializer().dumps(partner)


def embed_token_field() -> Markup:
    """The hidden field for the forms of an embedded page (nothing on a normal page)."""
    partner = current_partner()
    if not partner:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(TOKEN_FIELD, escape(embed_token(partner)))


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def own_origins() -> set[str]:
    """This site's origin, as the request reached it and as PUBLIC_BASE_URL names it."""
    return {origin for origin in (_origin(request.host_url), _origin(current_app.config.get("PUBLIC_BASE_URL")))
            if origin}


def check_embedded_post(partner: str) -> None:
    """CSRF for an embedded page's POST, without the session cookie (see the module's docstring)."""
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if origin is None and fetch_site is None:
        raise CSRFError("Neither Origin nor Sec-Fetch-Site: the origin of the POST is unknown.")
    if origin is not None and origin.lower() not in own_origins():
        raise CSRFError("The Origin header is not this site.")
    if fetch_site is not None and fetch_site != "same-origin":
        raise CSRFError("Sec-Fetch-Site is not same-origin.")
    try:
        signed = _serializer().loads(request.form.get(TOKEN_FIELD, ""), max_age=EMBED_TOKEN_MAX_AGE)
    except BadData:
        raise CSRFError("The embedded form's token is missing, expired or invalid.") from None
    if signed != partner:
        raise CSRFError("The embedded form's token is for another partner.")
