"""The reader's language: the footer's switch (the « lang » cookie) first, then the browser's
Accept-Language, then French; dates and numbers follow it.

Most tests use a small English catalogue written for the test, so they do not wait for the real one;
the last checks the real catalogue (chamber_callback/translations/en) once it exists.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask_babel import refresh

from chamber_callback import formatting
from chamber_callback.extensions import babel
from chamber_callback.public.language import WIDGET_TEXTS_MARK, local_path
from tests.conftest import empty_tables, make_app

ROOT = Path(__file__).resolve().parents[2]
REAL_CATALOGUE = ROOT / "chamber_callback" / "translations" / "en" / "LC_MESSAGES" / "messages.mo"
ENGLISH = {"Être rappelé par un conseiller": "Get a call back from an adviser", "Fermer": "Close",
           "Être rappelé": "Get a call back", "Langue du site": "Site language"}


def translations_cache() -> dict:
    return babel.domain_instance.cache


def lang_of(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.fixture
def english_app(_migrated, tmp_path):
    """The app with a French default and a (tiny) compiled English catalogue."""
    catalog = Catalog(locale="en")
    for french, english in ENGLISH.items():
        catalog.add(french, english)
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    app = make_app(BABEL_TRANSLATION_DIRECTORIES=str(tmp_path))
    app.extensions["redis"].flushdb()
    # Flask-Babel keeps the loaded catalogues in its one Babel object, shared by every app of the run:
    # this app must neither read the real catalogue nor leave its own to the next tests.
    with app.app_context():
        translations_cache().clear()
        yield app
        empty_tables()
        translations_cache().clear()
    app.extensions["redis"].flushdb()


@pytest.fixture
def english_client(english_app):
    return english_app.test_client()


def test_french_is_the_default_without_a_cookie_or_a_header(english_client):
    response = english_client.get("/")
    assert response.status_code == 200 and lang_of(response) == "fr"
    assert "Être rappelé par un conseiller" in response.get_data(as_text=True)


def test_the_cookie_set_to_en_gives_the_english_pages(english_client):
    english_client.set_cookie("lang", "en")
    html = english_client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "Get a call back from an adviser" in html
    assert lang_of(english_client.get("/connexion")) == "en"  # the staff pages too


@pytest.mark.parametrize(("header", "expected"), [
    ("en-GB", "en"), ("en-GB,en;q=0.9", "en"), ("en-US,fr;q=0.8", "en"), ("de, en;q=0.5, fr;q=0.3", "en"),
    ("fr-CA, en;q=0.5", "fr"), ("de", "fr"), ("*", "fr"), ("", "fr")])
def test_without_a_cookie_the_browsers_preferred_language_we_have(english_client, header, expected):
    response = english_client.get("/", headers={"Accept-Language": header} if header else {})
    assert lang_of(response) == expected


def test_the_cookie_wins_over_the_browser_and_an_unknown_one_is_ignored(english_client):
    english_client.set_cookie("lang", "fr")
    assert lang_of(english_client.get("/", headers={"Accept-Language": "en-GB"})) == "fr"
    english_client.set_cookie("lang", "de")
    assert lang_of(english_client.get("/", headers={"Accept-Language": "en-GB"})) == "en"
    assert lang_of(english_client.get("/")) == "fr"


def test_the_switch_sets_a_cookie_for_a_year_and_comes_back_to_the_page(english_client):
    response = english_client.get("/langue/en?next=/suivi/abc%3Fx?partenaire=a")
    assert response.status_code == 302 and response.headers["Location"] == "/suivi/abc?x?partenaire=a"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and "HttpOnly" in cookie
    assert response.headers["Cache-Control"] == "no-store"
    assert lang_of(english_client.get("/")) == "en"  # the browser keeps it
    english_client.get("/langue/fr?next=/")
    assert lang_of(english_client.get("/", headers={"Accept-Language": "en"})) == "fr"


def test_the_switch_ignores_a_language_we_do_not_have(english_client):
    response = english_client.get("/langue/de?next=/connexion")
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
                                    "javascript:alert(1)", "evil.example", "", "/%0a/x\n"])
def test_the_switch_goes_back_only_to_a_page_of_this_site(english_client, target):
    response = english_client.get("/langue/en", query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_local_path():
    assert local_path("/suivi/abc?x=1#top") == "/suivi/abc?x=1#top"
    assert local_path("/") == "/"
    for bad in (None, "", "x", "//a.example", "/\\a.example", "http://a.example/", "/a\r\nSet-Cookie: x", "/\x7f"):
        assert local_path(bad) is None


def test_the_footer_links_to_each_language_named_in_itself(english_client):
    html = english_client.get("/connexion?x=1").get_data(as_text=True)
    switch = re.search(r'<nav class="language-switch[^"]*" aria-label="([^"]+)">(.*?)</nav>', html, re.DOTALL)
    assert switch and switch.group(1) == "Langue du site"
    assert '<span lang="fr" aria-current="true">Français</span>' in switch.group(2)
    assert '<a href="/langue/en?next=/connexion?x%3D1" lang="en" hreflang="en">English</a>' in switch.group(2)
    english_client.set_cookie("lang", "en")
    html = english_client.get("/").get_data(as_text=True)
    assert 'aria-label="Site language"' in html and '<span lang="en" aria-current="true">English</span>' in html
    assert '<a href="/langue/fr?next=/" lang="fr" hreflang="fr">Français</a>' in html


def test_no_switch_while_french_is_the_only_language(_migrated, tmp_path):
    app = make_app(BABEL_TRANSLATION_DIRECTORIES=str(tmp_path))  # an empty folder: no catalogue
    with app.app_context():
        html = app.test_client().get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert '<html lang="fr">' in html and "language-switch" not in html
        empty_tables()


def test_dates_and_numbers_follow_the_language(english_app):
    moment = datetime(2026, 12, 3, 13, 5, tzinfo=UTC)  # 14:05 in Paris
    expected = {
        "fr": ("jeudi 3 décembre à 14h05", "3 déc. 2026 14h05", "jeu. 3 déc. 14h05", "14h05", "03/12/2026",
               "1\u202f234,5", "40\u00a0%", "12,5\u00a0%"),
        "en": ("Thursday, December 3 at 2:05 PM", "Dec 3, 2026, 2:05 PM", "Thu, Dec 3, 2:05 PM", "2:05 PM",
               "12/3/2026", "1,234.5", "40%", "12.5%"),
    }
    for language, shown in expected.items():
        with english_app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
            refresh()  # the tests' app context outlives a request, and Flask-Babel keeps the locale in it
            assert (formatting.local_datetime(moment), formatting.local_datetime(moment, "full"),
                    formatting.local_datetime(moment, "short"), formatting.local_datetime(moment, "time"),
                    formatting.local_date(date(2026, 12, 3), "numeric"), formatting.number(1234.5, 1),
                    formatting.percent(0.4), formatting.percent(0.125)) == shown
            assert formatting.local_time("08:30") == ("08:30" if language == "fr" else "8:30 AM")
            assert formatting.local_date("2026-12-03", "day_month") == ("3 déc." if language == "fr" else "Dec 3")
            assert formatting.number(None) == "—" and formatting.local_datetime(None) == ""


def test_the_partner_widget_speaks_the_browsers_language(english_client):
    source = (ROOT / "chamber_callback" / "static" / "js" / "widget.js").read_text(encoding="utf-8")
    assert source.count(WIDGET_TEXTS_MARK) == 1  # where /widget.js writes the texts
    french = english_client.get("/widget.js")
    english = english_client.get("/widget.js", headers={"Accept-Language": "en-GB"})
    assert "Accept-Language" in english.headers["Vary"] and english.headers["Content-Language"] == "en"
    texts = json.loads(re.search(r"var TEXTS = (\{.*?\});", english.get_data(as_text=True)).group(1))
    assert texts["lang"] == "en" and texts["open"] == "Get a call back" and texts["close"] == "Close"
    assert json.loads(re.search(r"var TEXTS = (\{.*?\});", french.get_data(as_text=True)).group(1))["close"] == "Fermer"
    assert french.headers["ETag"] != english.headers["ETag"]


@pytest.mark.skipif(not REAL_CATALOGUE.exists(),
                    reason="no compiled English catalogue yet (chamber_callback/translations/en/LC_MESSAGES/"
                           "messages.mo): pybabel compile -d chamber_callback/translations")
def test_the_real_english_catalogue_is_picked_from_the_browser(client):
    assert lang_of(client.get("/", headers={"Accept-Language": "en-GB"})) == "en"
    assert lang_of(client.get("/")) == "fr"
