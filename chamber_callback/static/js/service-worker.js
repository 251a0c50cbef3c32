// The agent console's service worker: shows the offers pushed to this device, opens the console on
// the offer when the notification is tapped, and shows a clear page when the console is opened
// without a connection. It caches nothing else: every page comes from the server, fresh.
"use strict";

var CACHE = "console-offline-v1";
var OFFLINE_URL = "/console/hors-ligne";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll([OFFLINE_URL, "/static/css/app.css", "/static/js/offline.js", "/static/icons/icon-192.png"]);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.mode !== "navigate" || new URL(request.url).pathname.indexOf("/console") !== 0) return;
  event.respondWith(fetch(request).catch(function () {
    return caches.match(OFFLINE_URL);
  }));
});

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
  if (data.expires_at && Date.parse(data.expires_at) <= Date.now()) return;  // arrived too late
  event.waitUntil(self.registration.showNotification(data.title || "", {
    body: data.body || "",
    tag: data.tag || "offer",
    renotify: true,
    requireInteraction: true,
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    data: { url: data.url || "/console" }
  }));
});

// Tapping the notification opens the console on the offer: the tab already open if there is one.
function openConsole(url) {
  var target = new URL(url, self.location.origin).href;
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      var client = windows[i];
      if (new URL(client.url).pathname.indexOf("/console") === 0 && "focus" in client) {
        return client.navigate(target).then(function (opened) { return (opened || client).focus(); });
      }
    }
    return self.clients.openWindow(target);
  });
}

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(openConsole((event.notification.data && event.notification.data.url) || "/console"));
});

// A page may ask for the same thing as a tap: open the console on an offer.
self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "open" && event.data.url) event.waitUntil(openConsole(event.data.url));
});
