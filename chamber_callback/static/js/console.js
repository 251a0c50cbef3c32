// Agent console: polls for changes (new offer, call taken elsewhere) and swaps the panel in place;
// says when the connection is lost and recovers by itself; offers push notifications on this device.
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  if (!panel) return;
  var url = panel.getAttribute("data-panel-url");
  var every = (parseInt(panel.getAttribute("data-poll-seconds"), 10) || 3) * 1000;
  var status = document.getElementById("console-status");
  var connection = document.getElementById("connection");
  var shortcuts = document.getElementById("shortcuts");
  var baseTitle = document.title;
  var clockSkew = 0;
  var lastPoll = 0;
  var failures = 0;
  var announced = {};  // countdown thresholds already said for the current offer
  var text = {};
  try { text = JSON.parse(document.getElementById("console-strings").textContent); } catch (error) { text = {}; }
  function t(key, fallback) { return text[key] || fallback; }

  function editing() {
    // Never replace a form the agent is filling in.
    var active = document.activeElement;
    if (active && panel.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) return true;
    return !!panel.querySelector("[data-dirty-guard].dirty");
  }

  function announce(message) { if (status) { status.textContent = message; } }

  function swap(html, version) {
    var focusedId = document.activeElement && panel.contains(document.activeElement) ? document.activeElement.id : null;
    var hadOffer = !!panel.querySelector(".offer");
    panel.innerHTML = html;
    panel.setAttribute("data-version", version || "");
    bind();
    var offer = panel.querySelector(".offer");
    if (offer && !hadOffer) {
      announced = {};
      announce(t("offer", "Nouvel appel proposé :") + " " + (offer.getAttribute("data-summary") || ""));
      var accept = offer.querySelector("button");
      if (accept) accept.focus();
      if (document.hidden) document.title = t("offer_title", "(!) Nouvel appel") + " · " + baseTitle;
    } else if (focusedId && document.getElementById(focusedId)) {
      document.getElementById(focusedId).focus();
    }
  }

  // --- the connection ------------------------------------------------------------------------
  function connected(ok) {
    if (!connection) return;
    if (ok) {
      if (failures > 1 || !connection.hidden) { connection.hidden = true; announce(t("online", "Connexion rétablie.")); }
      failures = 0;
    } else if (++failures > 1 || navigator.onLine === false) {
      connection.hidden = false;  // role="alert": read out once, when it appears
    }
  }

  function poll(force) {
    var now = Date.now();
    // A tab in the background still hears about offers, a little less often; after a failure,
    // retries slow down to every 2, 4 then 8 polls.
    var wait = (document.hidden ? every * 3 : every) * Math.min(Math.pow(2, Math.max(failures - 1, 0)), 8);
    if (!force && (editing() || now - lastPoll < wait - 50)) return;
    lastPoll = now;
    fetch(url + "?v=" + encodeURIComponent(panel.getAttribute("data-version")), {
      credentials: "same-origin", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (response.redirected || response.status === 401 || response.status === 403) {
        window.location.reload();  // session ended: show the login page, not a panel inside it
        return;
      }
      connected(response.status < 500);
      if (response.status === 200) {
        var version = response.headers.get("X-Panel-Version");
        return response.text().then(function (html) { swap(html, version); });
      }
    }).catch(function () { connected(false); });
  }
  window.addEventListener("offline", function () { failures = Math.max(failures, 1); connected(false); });
  window.addEventListener("online", function () { poll(true); });

  // --- the offer's countdown -----------------------------------------------------------------
  // Shown every second, but said to screen readers only at one minute, twenty seconds and the end.
  function countdown() {
    var el = panel.querySelector("[data-expires-at]");
    if (!el) return;
    var left = Math.round((Date.parse(el.getAttribute("data-expires-at")) - (Date.now() + clockSkew)) / 1000);
    if (left <= 0) {
      el.textContent = t("expired", "Proposition expirée");
      if (!announced.end) { announced.end = true; announce(t("expired_announce", "Proposition expirée.")); }
      return;
    }
    var m = Math.floor(left / 60), s = left % 60;
    el.textContent = t("left", "À accepter dans {m} min {s} s").replace("{m}", m).replace("{s}", (s < 10 ? "0" : "") + s);
    el.classList.toggle("hurry", left <= 20);
    if (left <= 60 && left > 20 && !announced.minute) {
      announced.minute = true; announce(t("one_minute", "Plus qu'une minute pour accepter l'appel."));
    }
    if (left <= 20 && !announced.twenty) {
      announced.twenty = announced.minute = true; announce(t("twenty_seconds", "Plus que 20 secondes pour accepter l'appel."));
    }
  }

  function bind() {
    var el = panel.querySelector("[data-server-now]");
    if (el) { clockSkew = Date.parse(el.getAttribute("data-server-now")) - Date.now(); }
    panel.querySelectorAll("[data-dirty-guard]").forEach(function (form) {
      form.addEventListener("input", function () { form.classList.add("dirty"); });
    });
    countdown();
  }

  // --- push notifications on this device -----------------------------------------------------
  var push = document.getElementById("push");
  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
  function post(target, body) {
    return fetch(target, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRFToken": push.getAttribute("data-csrf") }
    }).then(function (response) { if (!response.ok) throw new Error("HTTP " + response.status); return response; });
  }
  function setupPush(registration) {
    var toggle = document.getElementById("push-toggle"), state = document.getElementById("push-state");
    var key = push.getAttribute("data-key");
    var standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone;
    push.hidden = false;
    if (!key) { push.hidden = true; return; }
    if (!("PushManager" in window)) {
      // iOS offers Web Push only to a site added to the home screen (16.4 and later).
      if (/iPhone|iPad|iPod/.test(navigator.userAgent) && !standalone) { state.textContent = t("push_ios", ""); }
      toggle.hidden = true;
      if (!state.textContent) push.hidden = true;
      return;
    }
    function show(subscription) {
      toggle.textContent = subscription ? t("push_disable", "Désactiver") : t("push_enable", "Activer");
      toggle.setAttribute("aria-pressed", subscription ? "true" : "false");
      if (Notification.permission === "denied") state.textContent = t("push_denied", "");
    }
    registration.pushManager.getSubscription().then(function (subscription) {
      show(subscription);
      // Keep the server's copy current (a subscription renewed by the browser, another agent before).
      if (subscription && Notification.permission === "granted") {
        post(push.getAttribute("data-subscribe-url"), subscription.toJSON()).catch(function () {});
      }
    });
    toggle.addEventListener("click", function () {  // a user gesture, as browsers require
      registration.pushManager.getSubscription().then(function (current) {
        if (current) {
          return post(push.getAttribute("data-unsubscribe-url"), { endpoint: current.endpoint })
            .then(function () { return current.unsubscribe(); })
            .then(function () { show(null); state.textContent = t("push_off", ""); announce(state.textContent); });
        }
        return Notification.requestPermission().then(function (permission) {
          if (permission !== "granted") { show(null); state.textContent = t("push_denied", ""); return; }
          return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) })
            .then(function (subscription) {
              return post(push.getAttribute("data-subscribe-url"), subscription.toJSON()).then(function () {
                show(subscription); state.textContent = t("push_on", ""); announce(state.textContent);
              });
            });
        });
      }).catch(function () { state.textContent = t("push_failed", ""); announce(state.textContent); });
    });
  }
  if (push && "serviceWorker" in navigator) {
    navigator.serviceWorker.register("/service-worker.js", { scope: "/" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(setupPush)
      .catch(function () { push.hidden = true; });
  }

  // Opened from a notification (?offre=<id>): the offer is on screen, or it is gone and we say so.
  var wanted = new URLSearchParams(window.location.search).get("offre");
  if (wanted) {
    var shown = panel.querySelector(".offer[data-offer-id='" + wanted.replace(/\D/g, "") + "']");
    if (shown) { var accept = shown.querySelector("button"); if (accept) accept.focus(); }
    else { var gone = document.getElementById("offer-gone"); if (gone) gone.hidden = false; }
    if (window.history.replaceState) window.history.replaceState(null, "", window.location.pathname);
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
    if (!document.hidden) { document.title = baseTitle; poll(true); }
  });

  bind();
  setInterval(poll, 1000);
  setInterval(countdown, 1000);
})();
