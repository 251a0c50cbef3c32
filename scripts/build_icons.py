"""Draws the installable console's PNG icons from chamber_callback/static/icons/icon.svg with Debian's
chromium: `.venv/bin/python scripts/build_icons.py` from the project root, after changing the SVG."""
import pathlib

from playwright.sync_api import sync_playwright

ICONS = pathlib.Path(__file__).resolve().parents[1] / "chamber_callback" / "static" / "icons"
# name, size, full bleed (maskable and iOS icons: the system crops and rounds them itself)
SIZES = [("icon-192", 192, False), ("icon-512", 512, False), ("icon-maskable-512", 512, True),
         ("apple-touch-icon", 180, True)]


def main() -> None:
    svg = (ICONS / "icon.svg").read_text()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
        for name, size, full_bleed in SIZES:
            page = browser.new_page(viewport={"width": size, "height": size})
            body = svg.replace("<svg ", f'<svg width="{size}" height="{size}" ')
            if not full_bleed:
                body = body.replace('<rect width="512" height="512"', '<rect width="512" height="512" rx="96"')
            page.set_content(f"<html><body style='margin:0;background:transparent'>{body}</body></html>")
            page.screenshot(path=str(ICONS / f"{name}.png"), omit_background=True,
                            clip={"x": 0, "y": 0, "width": size, "height": size})
        browser.close()


if __name__ == "__main__":
    main()
