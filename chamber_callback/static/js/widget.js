/*
 * « Être rappelé » on partner sites: a button that opens the chamber's callback form in a dialog.
 *
 *   <script src="https://<chamber>/widget.js" defer></script>
 *   <div data-chamber-callback="federation-boulangerie"></div>
 *
 * The attribute's value is the partner's code, which the chamber lists with the site's address in
 * « Mode crise » → « Sites partenaires » (PARTNER_SITES). Served at /widget.js (public/routes.py);
 * plain JavaScript, no dependency. The form is the chamber's own page (/?partenaire=<code>) in an
 * iframe; only the listed sites may frame it (its Content-Security-Policy says so).
 *
 * The button and the dialog live in a shadow root with their own styles: the partner's CSS does not
 * reach them and theirs does not leak into the page. Built with DOM calls and a constructed style
 * sheet where the browser has them, so a partner's strict CSP or Trusted Types do not block them.
 *
 * The same file runs inside the iframe (the embedded pages load it): there it only lets Escape close
 * the dialog, since a key pressed in the form never reaches the partner's page.
 *
 * Its texts are in the language the chamber's server picks for the browser, as it does for the form in
 * the dialog (the browser's Accept-Language): /widget.js writes them in TEXTS below (public/routes.py).
 * Served as a plain static file, TEXTS stays empty and the French below is shown.
 */
(function () {
  "use strict";

  var CLOSE_MESSAGE = "chamber-callback:close";
  var TEXTS = /*chamber-callback:texts*/{};
  function text(key, french) { return (TEXTS && TEXTS[key]) || french; }
  var root = document.documentElement;

  // --- Inside the dialog (the embedded form): Escape asks the partner's page to close it. ----------
  var framedBy = root.getAttribute("data-chamber-embedded");
  if (framedBy !== null) {
    if (window.parent === window) return;
    var origins = framedBy.split(/\s+/).filter(Boolean);
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      origins.forEach(function (origin) {
        window.parent.postMessage({ type: CLOSE_MESSAGE }, origin); // delivered only to the right one
      });
    });
    return;
  }

  // --- On the partner's page: a button per [data-chamber-callback] element. -----------------------
  var script = document.currentScript;
  if (!script || !script.src) return;
  var chamber = new URL(script.src, document.baseURI).origin;
  var CODE = /^[a-z0-9-]{1,32}$/;
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
  var BRAND = "#0b4f8a";
  var BRAND_DARK = "#083a66";
  var FOCUS = "#ffbf47";

  var CSS = [
    ":host { all: initial; display: inline-block; }",
    // Every property a partner's page could pass down is set here.
    ".open, .panel, .panel * { box-sizing: border-box; font-family: " + FONT + "; font-style: normal;",
    "  letter-spacing: normal; word-spacing: normal; text-transform: none; text-indent: 0; text-align: left;",
    "  text-shadow: none; visibility: visible; direction: ltr; }",
    ".open { all: initial; box-sizing: border-box; display: inline-flex; align-items: center; justify-content: center;",
    "  min-height: 44px; margin: 0; padding: 10px 20px; border: 2px solid " + BRAND + "; border-radius: 8px;",
    "  background: " + BRAND + "; color: #fff; font: 600 17px/1.3 " + FONT + "; cursor: pointer;",
    "  text-decoration: none; white-space: nowrap; }",
    ".open:hover { background: " + BRAND_DARK + "; border-color: " + BRAND_DARK + "; }",
    ".open:focus-visible, .close:focus-visible { outline: 3px solid " + FOCUS + "; outline-offset: 2px; }",
    // A centred panel; full screen on a phone (below).
    ".panel { margin: auto; padding: 0; border: 0; border-radius: 12px; background: #fff; color: #1b1b1f;",
    "  width: 640px; max-width: calc(100vw - 32px); height: 860px; max-height: calc(100vh - 32px);",
    "  overflow: hidden; box-shadow: 0 12px 48px rgba(0, 0, 0, .35); font-size: 16px; line-height: 1.4; }",
    ".panel[open] { display: flex; flex-direction: column; }",
    ".panel::backdrop { background: rgba(11, 20, 33, .6); }",
    ".bar { flex: none; display: flex; align-items: center; justify-content: space-between; gap: 12px;",
    "  margin: 0; padding: 8px 8px 8px 16px; background: " + BRAND + "; color: #fff; }",
    ".title { margin: 0; padding: 0; font: 700 18px/1.3 " + FONT + "; color: #fff; }",
    ".close { all: initial; box-sizing: border-box; flex: none; min-height: 44px; padding: 8px 16px;",
    "  border: 2px solid #fff; border-radius: 6px; background: #fff; color: " + BRAND + ";",
    "  font: 600 16px/1.2 " + FONT + "; cursor: pointer; }",
    ".close:hover { background: #e8eef5; }",
    ".frame { display: block; flex: 1 1 auto; width: 100%; min-height: 0; margin: 0; border: 0; background: #f4f5f7; }",
    "@media (max-width: 600px) {",
    "  .panel { width: 100vw; max-width: 100vw; height: 100vh; height: 100dvh; max-height: none; margin: 0;",
    "    border-radius: 0; }",
    "}"
  ].join("\n");

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function addStyles(shadow) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (error) { // older browsers: a <style> element
      shadow.appendChild(element("style", {}, CSS));
    }
  }

  function shadowFor(host) {
    try {
      return host.attachShadow({ mode: "open" });
    } catch (error) { // an element that cannot hold a shadow root (a <p> can, an <a> cannot…)
      var inner = element("span");
      host.appendChild(inner);
      return inner.attachShadow({ mode: "open" });
    }
  }

  function mount(host) {
    if (host.hasAttribute("data-chamber-callback-ready")) return;
    var code = (host.getAttribute("data-chamber-callback") || "").trim();
    if (!CODE.test(code)) {
      if (window.console) console.warn("widget.js : code partenaire invalide (a-z, 0-9, -) :", code);
      return;
    }
    host.setAttribute("data-chamber-callback-ready", "");
    var formUrl = chamber + "/?partenaire=" + encodeURIComponent(code);
    var shadow = shadowFor(host);
    addStyles(shadow);
    var button = element("button", { type: "button", "class": "open", "aria-haspopup": "dialog" },
                          text("open", "Être rappelé"));
    if (TEXTS && TEXTS.lang) button.setAttribute("lang", TEXTS.lang); // the partner's page may be in another
    shadow.appendChild(button);

    var dialog = null, frame = null, closeButton = null, overflow = "";

    function build() {
      dialog = element("dialog", { "class": "panel", "aria-labelledby": "chamber-callback-title" });
      if (TEXTS && TEXTS.lang) dialog.setAttribute("lang", TEXTS.lang);
      var bar = element("div", { "class": "bar" });
      bar.appendChild(element("h2", { "class": "title", id: "chamber-callback-title" }, text("title", "Être rappelé")));
      closeButton = element("button", { type: "button", "class": "close" }, text("close", "Fermer"));
      bar.appendChild(closeButton);
      dialog.appendChild(bar);
      // Loaded at the first opening, then kept: closing and reopening keeps what was typed.
      frame = element("iframe", { "class": "frame", title: text("frame", "Formulaire de demande de rappel"),
                                    src: formUrl });
      dialog.appendChild(frame);
      shadow.appendChild(dialog);

      closeButton.addEventListener("click", function () { dialog.close(); });
      // A click on the backdrop (outside the panel) closes it too.
      dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });
      dialog.addEventListener("close", function () {
        root.style.overflow = overflow;
        button.focus();
      });
      window.addEventListener("message", function (event) {
        if (event.origin === chamber && event.source === frame.contentWindow && event.data &&
            event.data.type === CLOSE_MESSAGE && dialog.open) {
          dialog.close();
        }
      });
    }

    button.addEventListener("click", function () {
      if (typeof HTMLDialogElement !== "function") { // no <dialog>: the form in a new tab
        window.open(chamber + "/", "_blank", "noopener");
        return;
      }
      if (!dialog) build();
      if (dialog.open) return;
      overflow = root.style.overflow;
      root.style.overflow = "hidden"; // the page behind does not scroll under the dialog
      dialog.showModal(); // Escape closes it (the "close" event above gives the focus back)
      closeButton.focus();
    });
  }

  function mountAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chamber-callback]"), mount);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
