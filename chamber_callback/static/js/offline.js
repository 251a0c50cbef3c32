// The page the service worker shows when the console is opened offline: back to the console as
// soon as the connection returns (and every 15 s in case the browser does not say so).
(function () {
  "use strict";
  var target = "/console";
  function retry() { if (navigator.onLine !== false) window.location.replace(target); }
  window.addEventListener("online", retry);
  setInterval(retry, 15000);
})();
