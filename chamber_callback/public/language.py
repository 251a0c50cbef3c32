"""The reader's language outside the templates' text.

- The footer's switch (``site/language_switch.html``): ``/langue/<code>?next=<page>`` keeps the choice
  in the « lang » cookie (read first by ``_select_locale``, chamber_callback/__init__.py) and goes back
  to the page it was clicked on. A GET without CSRF token: it only sets a display preference; the
  worst a forged link does is show the pages in another of our languages.
- ``/widget.js`` on partner sites: its texts, in the browser's language.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit

from babel import Locale
from flask import current_app, redirect, request, url_for
from flask_babel import gettext as _

from .. import LANGUAGE_COOKIE, available_languages
from ..formatting import language_tag
from . import bp

LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Where static/js/widget.js takes its texts (an empty object when served as a plain file: French).
WIDGET_TEXTS_MARK = "/*chamber-callback:texts*/{}"


def local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site (``/suivi/…?x=1``), else None: no scheme, no host,
    no ``//host`` or ``/\\host`` that a browser would read as another site, no control character."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.get("/langue/<code>")
def set_language(code: str):
    response = redirect(local_path(request.args.get("next")) or url_for("public.request_form"))
    if code in available_languages():
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=LANGUAGE_COOKIE_MAX_AGE, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    response.headers["Cache-Control"] = "no-store"
    return response


def _this_page() -> str:
    """This page's canonical path and query (a reference typed « p343 ajaj » comes back as P343-AJAJ),
    so the same page is the same HTML whatever way its address was typed."""
    if request.endpoint is None or request.url_rule is None:  # an error page for an unknown address
        return request.full_path.rstrip("?")
    values = {key: value for key, value in request.args.to_dict(flat=False).items() if not key.startswith("_")}
    values.update(request.view_args or {})
    return url_for(request.endpoint, **values)


@bp.app_template_global()
def language_links() -> list[dict]:
    """The footer's switch: each language the site has, named in itself (« English », « Français »),
    with the link that comes back to this page in it. Empty while French is the only one."""
    languages = available_languages()
    if len(languages) < 2:
        return []
    here = _this_page()
    current = language_tag()
    links = []
    for code in languages:
        name = Locale.parse(code).get_display_name(code) or code
        links.append({"code": code, "tag": code.replace("_", "-"), "name": name[:1].upper() + name[1:],
                      "current": code.replace("_", "-") == current,
                      "url": url_for("public.set_language", code=code, next=here)})
    return links


def widget_script(max_age: int):
    """static/js/widget.js with its texts in the language chosen for this request, which is the
    browser's (a partner's page does not send our cookie): the same as the form in its dialog.
    Cached by browsers and proxies per Accept-Language; the ETag makes a revalidation cheap."""
    source = Path(current_app.static_folder, "js", "widget.js").read_text(encoding="utf-8")
    texts = {"lang": language_tag(), "open": _("Être rappelé"), "title": _("Être rappelé"), "close": _("Fermer"),
             "frame": _("Formulaire de demande de rappel")}
    body = source.replace(WIDGET_TEXTS_MARK, json.dumps(texts), 1)
    response = current_app.response_class(body, mimetype="application/javascript")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.vary.update(("Accept-Language", "Cookie"))
    response.content_language.add(language_tag())
    return response.make_conditional(request)
