"""An admin switches the chamber to crisis mode in a real browser (CSRF on), and an artisan sees it."""
import pytest
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import Setting
from tests.e2e.conftest import sign_in
from tests.integration.helpers import make_staff

pytestmark = pytest.mark.e2e


def test_admin_turns_on_urgent_only_then_pauses_intake(live_server, laptop_page, browser, shots):
    base, app = live_server
    with app.app_context():
        make_staff(role="admin", email="admin@example.fr", availability="offline")
    page = laptop_page
    sign_in(page, base, "admin@example.fr", "/pilotage", app)
    page.click("text=Administration")
    assert "Interrupteurs de crise" in page.content()
    shots(page, "admin-home")

    page.goto(f"{base}/admin/crise")
    page.check("#INTAKE_URGENT_ONLY")
    page.fill("#PUBLIC_BANNER", "Inondations : nous rappelons d'abord les entreprises sinistrées.")
    page.click("button.primary")
    assert "réglage(s) modifié(s)" in page.content()
    shots(page, "admin-crisis")

    artisan = browser.new_context(locale="fr-FR").new_page()
    artisan.goto(f"{base}/")
    assert "seules les demandes urgentes sont acceptées" in artisan.content()
    assert "Inondations : nous rappelons" in artisan.content()
    shots(artisan, "form-urgent-only")

    page.goto(f"{base}/admin/crise")
    page.check("#INTAKE_PAUSED")
    page.fill("#INTAKE_PAUSED_MESSAGE", "Nos conseillers sont sur le terrain jusqu'à lundi.")
    page.click("button.primary")
    artisan.goto(f"{base}/")
    assert "Nos conseillers sont sur le terrain" in artisan.content()
    assert artisan.locator("input[name=phone]").count() == 0
    shots(artisan, "form-paused")

    for path, name in (("/admin/unites", "admin-units"), ("/admin/delais", "admin-sla"),
                       ("/admin/journal", "admin-journal")):
        page.goto(f"{base}{path}")
        shots(page, name)
    unit_link = page.goto(f"{base}/admin/unites") and page.locator("table a").first
    unit_link.click()
    page.fill("#day0_open", "21:00")
    page.fill("#day0_close", "08:00")
    page.click("text=Enregistrer les horaires")
    assert "L'ouverture doit précéder la fermeture" in page.content()
    shots(page, "admin-unit-errors")
    page.goto(f"{base}/admin/jours-fermes")
    page.fill("#day", "2031-12-24")
    page.fill("#reason", "Veille de Noël")
    page.click("text=Fermer ce jour")
    assert "Jour fermé ajouté" in page.content() and "Veille de Noël" in page.content()
    shots(page, "admin-closed-days")
    page.click("text=Rouvrir")
    assert "Jour rouvert" in page.content()
    for path, name in (("/admin/utilisateurs/nouveau", "admin-user-new"), ("/admin/sujets", "admin-topics"),
                       ("/admin/jours-feries", "admin-holidays")):
        page.goto(f"{base}{path}")
        shots(page, name)
    with app.app_context():
        assert db.session.scalar(select(Setting.value).where(Setting.key == "INTAKE_PAUSED")) is True
        db.session.execute(db.text("DELETE FROM settings"))
        db.session.commit()
