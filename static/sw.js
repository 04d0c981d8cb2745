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

// A push: an offer shows its Accept and Decline actions (SPEC.md §7.1); the payload carries
// its texts, in the agent's language, and a token good for answering that one offer.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data && event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Help On Demand", {
    body: data.body || "",
    icon: "/icons/icon-192.png",
    tag: data.offer_id ? "offer-" + data.offer_id : undefined,
    requireInteraction: data.type === "offer",
    actions: (data.actions || []).map(function (a) { return { action: a.action, title: a.title }; }),
    data: { url: data.url || "/agent", offer_id: data.offer_id, token: data.answer_token }
  }));
});

// Accept or Decline from the notification, even on a locked phone: the token answers the
// offer without a session. Accepting opens the referral (the consumer waits for a call);
// an offer no longer open, or a tap on the notification itself, opens Manage Referrals.
function answer(notification, action) {
  var d = notification.data || {};
  notification.close();
  var open = function (url) {
    return self.clients.openWindow(url).catch(function () { /* no window without a tap */ });
  };
  if ((action !== "accept" && action !== "decline") || !d.offer_id || !d.token) {
    return open(d.url || "/agent");
  }
  return fetch("/api/v1/push/offers/" + d.offer_id + "/" + action, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: d.token })
  }).then(function (r) {
    if (action === "accept" && r.ok) {
      return r.json().then(function (v) { return open("/agent/referrals/" + v.referral_id); });
    }
    if (!r.ok) { return open("/agent/referrals"); }
  }, function () { return open("/agent/referrals"); });
}

self.addEventListener("notificationclick", function (event) {
  event.waitUntil(answer(event.notification, event.action));
});
