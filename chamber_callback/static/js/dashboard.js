// Manager dashboard: refreshes the panel in place every few seconds, never while someone is
// choosing an agent, a unit or ticking requests in it.
(function () {
  "use strict";
  var panel = document.getElementById("dashboard-panel");
  if (!panel) return;
  var url = panel.getAttribute("data-panel-url");
  var every = (parseInt(panel.getAttribute("data-poll-seconds"), 10) || 10) * 1000;
  var status = document.getElementById("dashboard-status");
  // The announcement, in the page's language (manager/dashboard.html, #dashboard-strings); else French.
  var breachedText = "Demandes hors délai : {n}";
  try {
    breachedText = JSON.parse(document.getElementById("dashboard-strings").textContent).breached || breachedText;
  } catch (e) { /* French */ }

  function busy() {
    var active = document.activeElement;
    if (active && panel.contains(active) && /^(SELECT|INPUT|BUTTON|TEXTAREA)$/.test(active.tagName)) return true;
    return !!panel.querySelector("input[type=checkbox]:checked");
  }

  function poll() {
    if (document.hidden || busy()) return;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (response) {
      if (response.redirected || response.status === 401 || response.status === 403) {
        window.location.reload();
        return;
      }
      if (response.status === 200) {
        return response.text().then(function (html) {
          if (busy()) return;
          var before = (panel.querySelector("[data-tile=breached]") || {}).textContent;
          var open = Array.prototype.map.call(panel.querySelectorAll("details[open]"), function (d) { return d.id; });
          panel.innerHTML = html;
          open.forEach(function (id) { var d = id && document.getElementById(id); if (d) d.open = true; });
          var after = (panel.querySelector("[data-tile=breached]") || {}).textContent;
          if (status && before !== after) status.textContent = breachedText.split("{n}").join(after || "");
        });
      }
    }).catch(function () { /* offline for a moment: next tick */ });
  }

  setInterval(poll, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
