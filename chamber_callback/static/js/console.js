// Agent console: polls for changes (new offer, call taken elsewhere) and swaps the panel in place.
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  if (!panel) return;
  var url = panel.getAttribute("data-panel-url");
  var every = (parseInt(panel.getAttribute("data-poll-seconds"), 10) || 3) * 1000;
  var clockSkew = 0;

  function editing() {
    // Never replace a form the agent is filling in.
    var active = document.activeElement;
    if (active && panel.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) return true;
    var dirty = panel.querySelector("[data-dirty-guard].dirty");
    return !!dirty;
  }

  function poll() {
    if (document.hidden || editing()) return;
    fetch(url + "?v=" + encodeURIComponent(panel.getAttribute("data-version")), {
      credentials: "same-origin", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (response.status === 200) {
        var version = response.headers.get("X-Panel-Version");
        return response.text().then(function (html) {
          panel.innerHTML = html;
          panel.setAttribute("data-version", version || "");
          bind();
          var offer = panel.querySelector(".offer button");
          if (offer) { offer.focus(); }
        });
      }
      if (response.status === 401 || response.redirected) { window.location.reload(); }
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
  }

  function bind() {
    var el = panel.querySelector("[data-server-now]");
    if (el) { clockSkew = Date.parse(el.getAttribute("data-server-now")) - Date.now(); }
    panel.querySelectorAll("[data-dirty-guard]").forEach(function (form) {
      form.addEventListener("input", function () { form.classList.add("dirty"); });
    });
    countdown();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (/^(TEXTAREA|INPUT|SELECT)$/.test(target.tagName)) return;
    var button = panel.querySelector('[data-key="' + event.key.toLowerCase() + '"]');
    if (button) { event.preventDefault(); button.click(); }
  });

  bind();
  setInterval(poll, every);
  setInterval(countdown, 1000);
})();
