// Help On Demand service worker: makes the site installable, shows a page when offline, and
// shows the app notifications the server pushes (Web Push).
"use strict";
var OFFLINE = "/offline";
var CACHE = "hod-v1";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll([OFFLINE, "/static/app.css", "/icons/icon-192.png"]);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Pages always come from the network (they hold live data); the offline page when it fails.
self.addEventListener("fetch", function (event) {
  if (event.request.mode === "navigate") {
    event.respondWith(fetch(event.request).catch(function () { return caches.match(OFFLINE); }));
  }
});

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Help On Demand", {
    body: data.body || "",
    icon: "/icons/icon-192.png",
    data: { url: data.url || "/agent" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
