// Agent console: polls for changes (new offer, call taken elsewhere) and swaps the panel in place.
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  if (!panel) return;
  var url = panel.getAttribute("data-panel-url");
  var every = (parseInt(panel.getAttribute("data-poll-seconds"), 10) || 3) * 1000;
  var status = document.getElementById("console-status");
  var shortcuts = document.getElementById("shortcuts");
  var baseTitle = document.title;
  var clockSkew = 0;
  var lastPoll = 0;

  function editing() {
    // Never replace a form the agent is filling in.
    var active = document.activeElement;
    if (active && panel.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) return true;
    return !!panel.querySelector("[data-dirty-guard].dirty");
  }

  function announce(text) { if (status) { status.textContent = text; } }

  function swap(html, version) {
    var focusedId = document.activeElement && panel.contains(document.activeElement) ? document.activeElement.id : null;
    var hadOffer = !!panel.querySelector(".offer");
    panel.innerHTML = html;
    panel.setAttribute("data-version", version || "");
    bind();
    var offer = panel.querySelector(".offer");
    if (offer && !hadOffer) {
      announce("Nouvel appel proposé : " + (offer.getAttribute("data-summary") || ""));
      var accept = offer.querySelector("button");
      if (accept) accept.focus();
      if (document.hidden) document.title = "(!) Nouvel appel · " + baseTitle;
    } else if (focusedId && document.getElementById(focusedId)) {
      document.getElementById(focusedId).focus();
    }
  }

  function poll() {
    var now = Date.now();
    // A tab in the background still hears about offers, a little less often.
    if (editing() || now - lastPoll < (document.hidden ? every * 3 : every) - 50) return;
    lastPoll = now;
    fetch(url + "?v=" + encodeURIComponent(panel.getAttribute("data-version")), {
      credentials: "same-origin", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (response.redirected || response.status === 401 || response.status === 403) {
        window.location.reload();  // session ended: show the login page, not a panel inside it
        return;
      }
      if (response.status === 200) {
        var version = response.headers.get("X-Panel-Version");
        return response.text().then(function (html) { swap(html, version); });
      }
    }).catch(function () { /* offline for a moment: try again next tick */ });
  }

  function countdown() {
    var el = panel.querySelector("[data-expires-at]");
    if (!el) return;
    var left = Math.round((Date.parse(el.getAttribute("data-expires-at")) - (Date.now() + clockSkew)) / 1000);
    if (left <= 0) { el.textContent = "Proposition expirée"; return; }
    var m = Math.floor(left / 60), s = left % 60;
    el.textContent = "À accepter dans " + m + " min " + (s < 10 ? "0" : "") + s + " s";
    el.classList.toggle("hurry", left <= 20);
    if (left === 20) announce("Plus que 20 secondes pour accepter l'appel.");
  }

  function bind() {
    var el = panel.querySelector("[data-server-now]");
    if (el) { clockSkew = Date.parse(el.getAttribute("data-server-now")) - Date.now(); }
    panel.querySelectorAll("[data-dirty-guard]").forEach(function (form) {
      form.addEventListener("input", function () { form.classList.add("dirty"); });
    });
    countdown();
  }

  // Single-key shortcuts, which the agent can turn off (remembered in this browser).
  if (shortcuts) {
    shortcuts.checked = window.localStorage.getItem("console-shortcuts") !== "off";
    shortcuts.addEventListener("change", function () {
      window.localStorage.setItem("console-shortcuts", shortcuts.checked ? "on" : "off");
    });
  }
  document.addEventListener("keydown", function (event) {
    if (shortcuts && !shortcuts.checked) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^(TEXTAREA|INPUT|SELECT|BUTTON|A)$/.test(event.target.tagName) && event.target.type !== "submit") return;
    var button = panel.querySelector('[data-key="' + event.key.toLowerCase() + '"]');
    if (button) { event.preventDefault(); button.click(); }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { document.title = baseTitle; poll(); }
  });

  bind();
  setInterval(poll, 1000);
  setInterval(countdown, 1000);
})();
