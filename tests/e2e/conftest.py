"""A live server on 127.0.0.1 and Debian's chromium driven by Playwright (no browser download)."""
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from chamber_callback.extensions import db
from tests.conftest import empty_tables, make_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_server(_migrated):
    # A fast console poll and a short retry gap, so the journey runs in seconds.
    app = make_app(WTF_CSRF_ENABLED=True, CONSOLE_POLL_SECONDS=1, RETRY_GAP_MINUTES=0.02)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    with app.app_context():
        empty_tables()
    app.extensions["redis"].flushdb()


def sign_in(page, base: str, email: str, landing: str, app=None) -> None:
    """Log in through the staff login page (with the app's code when the role needs one) and wait
    for the role's landing page."""
    from chamber_callback.models import StaffUser
    from tests.integration.helpers import PASSWORD, second_factor_code

    page.goto(base + "/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    if page.url.endswith("/connexion/code"):
        with app.app_context():
            code = second_factor_code(db.session.scalar(db.select(StaffUser).where(StaffUser.email == email)))
        page.get_by_label("Code à 6 chiffres", exact=False).fill(code)
        page.get_by_role("button", name="Valider").click()
    page.wait_for_url(f"**{landing}")


@pytest.fixture
def browser():
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path):
    """Where screenshots go: docs/screenshots with `make screenshots` (SCREENSHOT_DIR) or SCREENSHOTS=1,
    else a temporary folder."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    target = Path(os.environ.get("SCREENSHOT_DIR") or (docs if os.environ.get("SCREENSHOTS") == "1" else tmp_path))
    target.mkdir(parents=True, exist_ok=True)
    return lambda page, name: page.screenshot(path=str(target / f"{name}.png"), full_page=True)


@pytest.fixture
def laptop_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  locale="fr-FR", is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()
