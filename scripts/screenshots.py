"""Take the README's screenshots of the public pages with Debian's chromium (headless).

    make screenshots        # writes docs/screenshots/*.png

Runs the app on a throw-away SQLite database, on 127.0.0.1 only.
"""
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
tmp = Path(tempfile.mkdtemp(prefix="cc-shots-"))
os.environ["INSTANCE_PATH"] = str(tmp)
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from chamber_callback import create_app  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("Debian's chromium is needed: apt-get install chromium")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp / 'shots.sqlite3'}", "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    threading.Thread(target=server.serve_forever, daemon=True).start()
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                   locale="fr-FR", is_mobile=True).new_page()
        page.goto(base + "/")
        page.screenshot(path=OUT / "form.png", full_page=True)
        page.get_by_label("Vos nom et prénom").fill("Martine Lefèvre")
        page.get_by_label("Numéro où vous rappeler").fill("06 12 34 5")
        page.get_by_label("Code postal de l'entreprise").fill("05110")
        page.get_by_role("button", name="Envoyer ma demande").click()
        page.screenshot(path=OUT / "form-errors.png", full_page=False)
        page.get_by_label("Numéro où vous rappeler").fill("06 12 34 56 78")
        page.get_by_label("Nom de votre entreprise").fill("Boulangerie Lefèvre")
        page.get_by_label("Alimentation", exact=True).check()
        page.get_by_label("Commune").select_option(label="La Saulce")
        page.get_by_label("Sujet de votre demande").select_option("aides")
        page.get_by_label("Votre question en quelques mots").fill("Ai-je droit au fonds de solidarité ce mois-ci ?")
        page.get_by_label("Ma demande est urgente").check()
        page.get_by_label("Mon activité est menacée cette semaine").check()
        page.locator("#consent").check()
        page.get_by_role("button", name="Envoyer ma demande").click()
        page.wait_for_url("**/confirmation")
        page.screenshot(path=OUT / "confirmation.png", full_page=True)
        page.get_by_role("link", name="Voir l'état de ma demande").click()
        page.screenshot(path=OUT / "status.png", full_page=True)
        browser.close()
    server.shutdown()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
