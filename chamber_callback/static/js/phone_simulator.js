// The incoming call simulator: a keypad that posts each step to the server, which runs the real
// phone line menu and answers with the text that would be spoken.
(function () {
  "use strict";
  var root = document.getElementById("phone-simulator");
  if (!root) { return; }
  var transcript = document.getElementById("sim-transcript");
  var typed = document.getElementById("sim-typed");
  var keypad = document.getElementById("sim-keypad");
  var actions = document.getElementById("sim-actions");
  var result = document.getElementById("sim-result");
  var state = { call: null, n: null, gather: null, buffer: "" };

  // Texts in the page's language (staff/phone_simulator.html, #phone-simulator-strings); else French.
  var texts = {};
  try { texts = JSON.parse(document.getElementById("phone-simulator-strings").textContent) || {}; } catch (e) { /* French */ }
  function text(key, french, values) {
    return (texts[key] || french).replace(/\{(\w+)\}/g, function (all, name) {
      return values && name in values ? String(values[name]) : all;
    });
  }

  function line(text, css) {
    var p = document.createElement("p");
    p.className = css;
    p.textContent = text;
    transcript.appendChild(p);
    transcript.scrollTop = transcript.scrollHeight;  // the latest words in view
  }

  function send(payload) {
    return fetch(root.getAttribute("data-step-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.getAttribute("data-csrf") },
      body: JSON.stringify(payload)
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(show).catch(function (error) {
      result.textContent = text("error", "Erreur du simulateur ({error}).", { error: error.message });
    });
  }

  function show(data) {
    state.call = data.call;
    state.n = data.n;
    state.gather = data.gather;
    state.buffer = "";
    typed.textContent = "";
    (data.says || []).forEach(function (text) { line(text, "said"); });
    var live = !data.ended;
    keypad.hidden = !live;
    actions.hidden = !live;
    if (!live) {
      var message = text("ended", "Appel terminé.");
      if (data.reference) {
        message += " " + text("created", "Demande créée : {reference}.", { reference: data.reference });
        var link = document.createElement("a");
        link.href = root.getAttribute("data-card-url").replace("REF", data.reference);
        link.textContent = text("see", "Voir la demande {reference}", { reference: data.reference });
        result.textContent = message + " ";
        result.appendChild(link);
      } else {
        result.textContent = message;
      }
      state.call = null;
    } else if (keypad.querySelector("button")) {
      keypad.querySelector("button").focus();
    }
  }

  function press(key) {
    if (!state.call || !state.gather) { return; }
    var gather = state.gather;
    if (gather.finish && key === gather.finish) {
      line(state.buffer + key, "pressed");  // a number keyed, shown once it is sent
      send({ call: state.call, n: state.n, digits: state.buffer });
      return;
    }
    if (gather.digits) { line(key, "pressed"); }
    state.buffer += key;
    typed.textContent = text("keys", "Touches : {keys}", { keys: state.buffer });
    if (gather.digits && state.buffer.length >= gather.digits) {
      send({ call: state.call, n: state.n, digits: state.buffer });
    }
  }

  document.getElementById("sim-start").addEventListener("submit", function (event) {
    event.preventDefault();
    transcript.textContent = "";
    result.textContent = "";
    var withheld = document.getElementById("sim-withheld").checked;
    send({ call: null, caller: withheld ? "anonymous" : document.getElementById("sim-caller").value });
  });
  keypad.addEventListener("click", function (event) {
    var key = event.target.getAttribute("data-key");
    if (key) { press(key); }
  });
  document.addEventListener("keydown", function (event) {
    if (keypad.hidden || event.target.tagName === "INPUT") { return; }
    if (/^[0-9*#]$/.test(event.key)) { event.preventDefault(); press(event.key); }
  });
  document.getElementById("sim-silence").addEventListener("click", function () {
    line(text("silence", "(silence)"), "pressed");
    var emptyOk = state.gather && state.gather.empty_ok;
    send({ call: state.call, n: state.n, digits: emptyOk ? "" : null });
  });
  document.getElementById("sim-hangup").addEventListener("click", function () {
    send({ call: state.call, hangup: true });
  });
}());
