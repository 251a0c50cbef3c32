"""The partner sites' « Être rappelé » button: /widget.js, the embedded form (framed only by the
partner's origins, CSRF without the session cookie, channel web:<code>) and the PARTNER_SITES setting."""
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from chamber_callback.clock import utcnow
from chamber_callback.domain.actors import SYSTEM
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, Setting
from chamber_callback.public.embedding import embed_token
from chamber_callback.services import settings
from tests.conftest import csrf_token_from, empty_tables, make_app
from tests.integration.helpers import make_staff, sign_in

PARTNERS = ("federation-boulangerie https://www.boulangers.example.fr\n"
            "federation-boulangerie https://boulangers.example.fr\n"
            "region https://www.region.example.fr")
BAKERS = "/?partenaire=federation-boulangerie"
OWN_ORIGIN = "http://localhost"  # the test client's host


def csp(response) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return {name: value for name, value in directives}


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def token_in(html: str) -> str:
    match = re.search(r'name="embed_token" value="([^"]+)"', html)
    assert match, "no embed_token in the page"
    return match.group(1)


def count_requests() -> int:
    return db.session.scalar(select(func.count()).select_from(CallbackRequest))


def allow_partners(value: str = PARTNERS) -> None:
    settings.update({"PARTNER_SITES": value}, SYSTEM, utcnow())


@pytest.fixture
def csrf_app(_migrated):
    """An app with CSRF on, as in production."""
    app = make_app(WTF_CSRF_ENABLED=True)
    app.extensions["redis"].flushdb()
    with app.app_context():
        allow_partners()
        yield app
        empty_tables()
    app.extensions["redis"].flushdb()


@pytest.fixture
def browser_client(csrf_app):
    """A browser in a partner's iframe: the chamber's cookies are neither stored nor sent."""
    return csrf_app.test_client(use_cookies=False)


# --- /widget.js ----------------------------------------------------------------------------------

def test_widget_script_is_served_as_javascript_with_a_cache_header(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Content-Type"].startswith("application/javascript")
    cache = response.headers["Cache-Control"]
    assert "public" in cache and "max-age=3600" in cache
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    body = response.get_data(as_text=True)
    assert "data-chamber-callback" in body and "Être rappelé" in body and "Fermer" in body
    assert "attachShadow" in body and "showModal" in body
    # Revalidation is cheap: the ETag gives a 304.
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


# --- which pages may be framed, and by whom ------------------------------------------------------

def test_embedded_form_is_framed_only_by_the_partner_origins(app, client):
    allow_partners()
    response = client.get(BAKERS)
    assert response.status_code == 200
    policy = csp(response)
    assert policy["frame-ancestors"] == "https://www.boulangers.example.fr https://boulangers.example.fr"
    assert "region.example.fr" not in response.headers["Content-Security-Policy"]  # another partner's site
    assert policy["default-src"] == "'self'" and policy["form-action"] == "'self'"
    assert "X-Frame-Options" not in response.headers
    html = text_of(response)
    # The same form, without the site's header and footer, posting back in embedded mode.
    assert 'name="phone"' in html and "Être rappelé par un conseiller" in html
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert f'action="{BAKERS}"' in html
    assert 'name="embed_token"' in html and 'name="csrf_token"' not in html
    assert 'data-chamber-embedded="https://www.boulangers.example.fr https://boulangers.example.fr"' in html
    assert '<script src="/widget.js" defer></script>' in html  # Escape in the iframe closes the dialog

    for page in ("/", "/connexion", "/connexion?partenaire=federation-boulangerie", "/widget.js"):
        headers = client.get(page).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], page
        assert headers["X-Frame-Options"] == "DENY", page


@pytest.mark.parametrize("code", ["inconnu", "Federation-Boulangerie", "a" * 33, "federation boulangerie",
                                  "<script>", "federation-boulangerie/..", ""])
def test_an_unknown_or_malformed_partner_code_gives_the_normal_page(app, client, code):
    allow_partners()
    response = client.get("/", query_string={"partenaire": code})
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert 'class="site-header"' in html and "data-chamber-embedded" not in html
    assert 'action="/"' in html and "embed_token" not in html


def test_no_partner_is_allowed_by_default(client):
    assert settings.partner_sites() == {}
    assert client.get(BAKERS).headers["X-Frame-Options"] == "DENY"


def test_a_partner_removed_from_the_list_can_no_longer_frame_the_form(app, client):
    allow_partners()
    assert "X-Frame-Options" not in client.get(BAKERS).headers
    allow_partners("region https://www.region.example.fr")
    assert client.get(BAKERS).headers["X-Frame-Options"] == "DENY"


# --- a request through the dialog ----------------------------------------------------------------

def test_a_submission_through_the_embedded_form_stores_the_partner_channel(csrf_app, browser_client, valid_form):
    client = browser_client
    token = token_in(client.get(BAKERS).get_data(as_text=True))
    response = client.post(BAKERS, data={**valid_form, "embed_token": token},
                           headers={"Origin": OWN_ORIGIN, "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.fullmatch(r"/demande/[A-Za-z0-9_-]+/confirmation\?partenaire=federation-boulangerie", location)
    request = db.session.scalar(select(CallbackRequest))
    assert request.channel == "web:federation-boulangerie"

    # The confirmation shows in the dialog; the link to keep is the normal page, opened outside it.
    confirmation = client.get(location)
    assert confirmation.status_code == 200 and "X-Frame-Options" not in confirmation.headers
    assert csp(confirmation)["frame-ancestors"].startswith("https://www.boulangers.example.fr")
    assert confirmation.headers["Cache-Control"] == "no-store"
    html = text_of(confirmation)
    assert "Votre demande est enregistrée" in html and request.reference in html
    status_token = location.split("/")[2]
    assert f'href="https://rappel.example.fr/suivi/{status_token}" target="_blank"' in html
    status_path = f"/suivi/{status_token}?partenaire=federation-boulangerie"
    assert f'href="{status_path}"' in html

    # The status page and its cancel button work in the dialog too, without any cookie.
    status = client.get(status_path)
    assert status.status_code == 200 and "X-Frame-Options" not in status.headers
    status_html = status.get_data(as_text=True)
    assert f'action="/suivi/{status_token}/annuler?partenaire=federation-boulangerie"' in status_html
    cancelled = client.post(f"/suivi/{status_token}/annuler?partenaire=federation-boulangerie",
                            data={"embed_token": token_in(status_html)}, headers={"Origin": OWN_ORIGIN})
    assert cancelled.status_code == 302 and cancelled.headers["Location"] == status_path
    db.session.refresh(request)
    assert request.status == "cancelled"
    # Closed: the artisan may erase it, from the dialog as well.
    status_html = client.get(status_path).get_data(as_text=True)
    assert f'action="/suivi/{status_token}/effacer?partenaire=federation-boulangerie"' in status_html
    erased = client.post(f"/suivi/{status_token}/effacer?partenaire=federation-boulangerie",
                         data={"embed_token": token_in(status_html)}, headers={"Origin": OWN_ORIGIN})
    assert erased.status_code == 302 and erased.headers["Location"] == status_path
    db.session.refresh(request)
    assert request.purged_at is not None and request.channel == "web:federation-boulangerie"


def test_the_public_base_url_is_an_accepted_origin_too(csrf_app, browser_client, valid_form):
    token = token_in(browser_client.get(BAKERS).get_data(as_text=True))
    response = browser_client.post(BAKERS, data={**valid_form, "embed_token": token},
                                   headers={"Origin": "https://rappel.example.fr"})
    assert response.status_code == 302 and count_requests() == 1


@pytest.mark.parametrize("headers, why", [
    ({"Origin": "https://www.boulangers.example.fr"}, "posted by the partner's page itself"),
    ({"Origin": "https://evil.example"}, "another site"),
    ({"Origin": "null"}, "an opaque origin"),
    ({"Origin": OWN_ORIGIN, "Sec-Fetch-Site": "cross-site"}, "fetch metadata says cross-site"),
    ({"Sec-Fetch-Site": "same-site"}, "a sibling site"),
    ({}, "no Origin and no Sec-Fetch-Site"),
])
def test_an_embedded_post_from_elsewhere_is_refused(csrf_app, browser_client, valid_form, headers, why):
    token = token_in(browser_client.get(BAKERS).get_data(as_text=True))
    response = browser_client.post(BAKERS, data={**valid_form, "embed_token": token}, headers=headers)
    assert response.status_code == 400, why
    assert "Formulaire expiré" in text_of(response)
    assert count_requests() == 0


def test_an_embedded_post_needs_a_token_for_that_partner(csrf_app, browser_client, valid_form):
    same_origin = {"Origin": OWN_ORIGIN, "Sec-Fetch-Site": "same-origin"}
    for token in (None, "", "forged", embed_token("region")):
        data = dict(valid_form) if token is None else {**valid_form, "embed_token": token}
        response = browser_client.post(BAKERS, data=data, headers=same_origin)
        assert response.status_code == 400, token
        # The error page shows in the dialog (framed by the partner), without the site's chrome.
        assert csp(response)["frame-ancestors"].startswith("https://www.boulangers.example.fr")
        assert 'class="site-header"' not in response.get_data(as_text=True)
    # An embedded page's token is no CSRF token for the normal form (which needs the session's).
    response = browser_client.post("/", data={**valid_form, "embed_token": embed_token("federation-boulangerie")},
                                   headers=same_origin)
    assert response.status_code == 400
    assert count_requests() == 0


def test_the_normal_form_keeps_its_session_csrf(csrf_app, valid_form):
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    assert client.post("/", data=valid_form).status_code == 400
    response = client.post("/", data={**valid_form, "csrf_token": token})
    assert response.status_code == 302 and "partenaire" not in response.headers["Location"]
    assert db.session.scalar(select(CallbackRequest)).channel == "web"


def test_an_unknown_partner_code_submits_as_the_normal_form(csrf_app, valid_form):
    """The form still works, the normal way: session CSRF, channel web."""
    client = csrf_app.test_client()
    page = client.get("/?partenaire=inconnu").get_data(as_text=True)
    assert "embed_token" not in page
    response = client.post("/?partenaire=inconnu", data={**valid_form, "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302 and "partenaire" not in response.headers["Location"]
    assert db.session.scalar(select(CallbackRequest)).channel == "web"


# --- the setting on the administration page ------------------------------------------------------

@pytest.fixture
def admin_client(app):
    admin = make_staff(role="admin", availability="offline")
    client = app.test_client()
    assert sign_in(client, admin).status_code == 302
    return client


def crisis_form(**values) -> dict:
    return {"CHAMBER_PHONE": "03 80 63 13 00", "PUBLIC_BANNER": "", "INTAKE_PAUSED_MESSAGE": "", **values}


def test_the_setting_is_shown_and_edited_on_the_crisis_page(app, admin_client):
    page = text_of(admin_client.get("/admin/crise"))
    assert "Sites partenaires qui affichent le bouton « Être rappelé »" in page
    assert "federation-boulangerie https://www.boulangers.example.fr" in page  # the help text's example
    assert '<script src="https://rappel.example.fr/widget.js" defer></script>' in page  # the snippet to give
    response = admin_client.post("/admin/crise", data=crisis_form(
        PARTNER_SITES="  federation-boulangerie   HTTPS://WWW.Boulangers.example.fr/ \r\n\r\n"
                      "region https://www.region.example.fr:443\r\nregion https://www.region.example.fr\r\n"
                      "demo http://127.0.0.1:8000"))
    assert response.status_code == 302
    stored = "federation-boulangerie https://www.boulangers.example.fr\nregion https://www.region.example.fr\n" \
             "demo http://127.0.0.1:8000"
    assert db.session.get(Setting, "PARTNER_SITES").value == stored
    assert settings.partner_sites() == {"federation-boulangerie": ("https://www.boulangers.example.fr",),
                                        "region": ("https://www.region.example.fr",),
                                        "demo": ("http://127.0.0.1:8000",)}
    assert "region https://www.region.example.fr" in text_of(admin_client.get("/admin/crise"))


@pytest.mark.parametrize("line, message", [
    ("federation-boulangerie http://www.boulangers.example.fr", "n'est pas une adresse de site acceptée"),
    ("federation-boulangerie https://www.boulangers.example.fr/aides", "sans chemin"),
    ("federation-boulangerie https://www.boulangers.example.fr:99999", "n'est pas une adresse de site acceptée"),
    ("federation-boulangerie https://*.example.fr", "n'est pas une adresse de site acceptée"),
    ("federation-boulangerie https://a.fr;script-src", "n'est pas une adresse de site acceptée"),
    ("federation-boulangerie http://192.168.1.5:8000", "n'est pas une adresse de site acceptée"),
    ("federation-boulangerie", "écrivez le code du partenaire puis l'adresse de son site"),
    ("Fédération https://www.boulangers.example.fr", "le code « Fédération » n'est pas valide"),
    ("f" * 33 + " https://www.boulangers.example.fr", "n'est pas valide"),
])
def test_bad_lines_are_refused_with_a_french_message(app, admin_client, line, message):
    response = admin_client.post("/admin/crise", data=crisis_form(
        PARTNER_SITES=f"region https://www.region.example.fr\n{line}"))
    shown = text_of(response)
    assert response.status_code == 422 and "Rien n'a été enregistré" in shown
    assert "Ligne 2 : " in shown and message in shown
    assert db.session.get(Setting, "PARTNER_SITES") is None


def test_local_http_origins_are_refused_in_production(app, monkeypatch):
    assert settings.validate({"PARTNER_SITES": "demo http://localhost:8000"}) == {
        "PARTNER_SITES": "demo http://localhost:8000"}
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    with pytest.raises(settings.SettingsError) as refused:
        settings.validate({"PARTNER_SITES": "demo http://localhost:8000"})
    assert "qu'en dehors de la production" in refused.value.errors["PARTNER_SITES"]
    with pytest.raises(settings.SettingsError) as refused:
        settings.validate({"PARTNER_SITES": "demo http://127.0.0.1"})  # no port, and http anyway
    assert "n'est pas une adresse de site acceptée" in refused.value.errors["PARTNER_SITES"]
    # One kept from a test or a demo is ignored once in production: no http site may frame the form.
    monkeypatch.setitem(app.config, "APP_ENV", "development")
    allow_partners("demo http://localhost:8000\nregion https://www.region.example.fr")
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    assert settings.partner_sites() == {"region": ("https://www.region.example.fr",)}
