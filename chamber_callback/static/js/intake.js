// Progressive enhancement of the callback form; everything works without it.
(function () {
  "use strict";
  var form = document.querySelector("form.intake");
  if (!form) return;

  // Texts in the page's language, written by the template (public/form.html, #intake-strings);
  // the French below if they are missing.
  var texts = {};
  try { texts = JSON.parse(document.getElementById("intake-strings").textContent) || {}; } catch (e) { /* French */ }
  function text(key, french, values) {
    return (texts[key] || french).replace(/\{(\w+)\}/g, function (all, name) {
      return values && name in values ? String(values[name]) : all;
    });
  }
  var plural = null;
  try { plural = new Intl.PluralRules(document.documentElement.lang || "fr"); } catch (e) { /* no Intl */ }
  function isOne(n) { return plural ? plural.select(n) === "one" : n <= 1; }

  // Urgency reasons only matter when the request is urgent.
  var urgent = document.getElementById("urgent");
  var reasons = document.querySelector("[data-urgency-reasons]");
  function syncUrgency() { if (reasons) reasons.hidden = !(urgent && urgent.checked); }
  if (urgent) { urgent.addEventListener("change", syncUrgency); syncUrgency(); }

  // Characters left in the description.
  var description = document.getElementById("description");
  var counter = document.querySelector("[data-counter-for=description]");
  var alertBox = document.querySelector("[data-counter-alert]");
  function syncCounter() {
    if (!description || !counter) return;
    var left = 1000 - description.value.length;
    var shown = isOne(left) ? text("left_one", "{n} caractère restant", { n: left })
      : text("left_other", "{n} caractères restants", { n: left });
    counter.textContent = shown;
    // Screen readers hear the count only near the limit, not at every key.
    if (alertBox) alertBox.textContent = left <= 100 ? shown : "";
  }
  if (description) { description.addEventListener("input", syncCounter); syncCounter(); }

  // Ask for the commune once the postal code is known (required when it spans two départements).
  var postal = document.getElementById("postal_code");
  var communeField = document.querySelector("[data-commune-field]");
  var commune = document.getElementById("commune");
  var lastCode = null;
  function loadCommunes() {
    var code = (postal.value || "").replace(/\s+/g, "");
    if (!/^\d{5}$/.test(code) || code === lastCode) return;
    lastCode = code;
    fetch("/api/v1/postal-codes/" + code, { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { communeField.hidden = true; return; }
        var selected = commune.value;
        while (commune.options.length > 1) commune.remove(1);
        data.communes.forEach(function (c) {
          var option = new Option(c.name, c.insee);
          option.selected = c.insee === selected;
          commune.add(option);
        });
        if (data.communes.length === 1) commune.selectedIndex = 1;
        communeField.hidden = data.communes.length < 2;
      })
      .catch(function () { /* the server checks again on submit */ });
  }
  if (postal && communeField && commune) {
    postal.addEventListener("input", loadCommunes);
    postal.addEventListener("change", loadCommunes);
    loadCommunes();
  }

  // One tap, one request: the button is disabled while the form is sent.
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.textContent = text("sending", "Envoi en cours…"); }
  });

  // Take people to the first problem after a failed submission.
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
