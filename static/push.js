// Security tab: turns notifications on this device on and off. Turning them on asks the
// browser's permission (only then, on the agent's click), subscribes with the program's key
// and hands the subscription to the server; turning them off forgets it on both sides.
(function () {
  "use strict";
  var box = document.getElementById("push-device");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return;
  }
  var button = document.getElementById("push-toggle");
  var status = document.getElementById("push-status");
  var unsupported = document.getElementById("push-unsupported");
  box.hidden = false;
  if (unsupported) { unsupported.hidden = true; }

  function key(base64url) {
    var text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    return bytes;
  }

  function send(method, body) {
    return fetch("/api/v1/agent/push-subscriptions", {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok && r.status !== 404) { throw new Error("status " + r.status); }
    });
  }

  function show(subscribed, message) {
    button.textContent = box.getAttribute(subscribed ? "data-turn-off" : "data-turn-on");
    button.setAttribute("aria-pressed", subscribed ? "true" : "false");
    status.textContent = message || box.getAttribute(subscribed ? "data-on" : "data-off");
  }

  navigator.serviceWorker.ready.then(function (registration) {
    registration.pushManager.getSubscription().then(function (s) { show(!!s); });
    button.addEventListener("click", function () {
      button.disabled = true;
      registration.pushManager.getSubscription().then(function (current) {
        if (current) {
          return send("DELETE", { endpoint: current.endpoint })
            .then(function () { return current.unsubscribe(); })
            .then(function () { show(false); });
        }
        return Notification.requestPermission().then(function (permission) {
          if (permission !== "granted") { show(false, box.getAttribute("data-blocked")); return; }
          return fetch("/api/v1/push/vapid-public-key")
            .then(function (r) { return r.json(); })
            .then(function (v) {
              return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(v.key) });
            })
            .then(function (s) { return send("POST", s.toJSON()); })
            .then(function () { show(true); });
        });
      }).catch(function () {
        show(false, box.getAttribute("data-failed"));
      }).then(function () { button.disabled = false; });
    });
  });
}());
