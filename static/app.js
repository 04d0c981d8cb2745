// Registers the service worker, so the site installs as an app on phones; keeps live pages
// (the consumer's status, Manage Referrals) up to date through server-sent events, and counts
// down the time left on offers. Every page works without it.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* the site works without it */ });
  }

  // A form sent back with problems (or over its limit): what to fix gets the focus, so that a
  // screen reader reads it first and the keyboard starts from there.
  var summary = document.querySelector("[data-focus]");
  if (summary) summary.focus();

  // A live element names its event stream in data-events and what it shows in data-status
  // or data-offers; when the stream reports something else, the page is reloaded.
  var live = document.querySelector("[data-events]");
  if (live && "EventSource" in window) {
    var shown = live.getAttribute("data-status") || live.getAttribute("data-offers") || "";
    var source = new EventSource(live.getAttribute("data-events"));
    source.addEventListener("change", function (e) {
      if (e.data !== shown) {
        source.close();
        window.location.reload();
      }
    });
  }

  // Manage Referrals: an offer that arrived while the page was open is announced — a visible
  // alert, the count in the title, and a short tone the agent can turn off.
  var offers = document.getElementById("offers");
  if (offers) {
    var ids = (offers.getAttribute("data-offers") || "").split(/[\s,]+/).filter(Boolean);
    var seen = null;
    try { seen = JSON.parse(window.sessionStorage.getItem("hod-seen-offers")); } catch (e) { seen = null; }
    window.sessionStorage.setItem("hod-seen-offers", JSON.stringify(ids));
    var arrived = Array.isArray(seen) ? ids.filter(function (id) { return seen.indexOf(id) < 0; }) : [];
    var sound = document.getElementById("offer-sound");
    var soundOn = function () { return window.localStorage.getItem("hod-offer-sound") !== "off"; };
    if (sound) {
      sound.hidden = false;
      sound.setAttribute("aria-pressed", soundOn() ? "true" : "false");
      sound.addEventListener("click", function () {
        window.localStorage.setItem("hod-offer-sound", soundOn() ? "off" : "on");
        sound.setAttribute("aria-pressed", soundOn() ? "true" : "false");
      });
    }
    // A notification from the browser too, for a tab in the background — permission is asked
    // only when the agent presses the button, never on page load.
    var notify = document.getElementById("offer-notify");
    var notifyStatus = document.getElementById("offer-notify-status");
    var canNotify = "Notification" in window && "serviceWorker" in navigator;
    var showNotifyState = function () {
      if (!canNotify) { return; }
      var p = window.Notification.permission;
      notify.hidden = p !== "default";
      notifyStatus.textContent = p === "granted" ? notify.getAttribute("data-on")
        : p === "denied" ? notify.getAttribute("data-blocked") : "";
    };
    if (notify && canNotify) {
      showNotifyState();
      notify.addEventListener("click", function () {
        window.Notification.requestPermission().then(showNotifyState);
      });
    }
    if (arrived.length && canNotify && window.Notification.permission === "granted" && document.hidden) {
      navigator.serviceWorker.ready.then(function (reg) {
        arrived.forEach(function (id) {
          var li = document.getElementById("offer-" + id);
          reg.showNotification(notify.getAttribute("data-title"), {
            body: li ? li.querySelector("h3").textContent : "",
            // The same tag as the offer's push notification: one notification per offer.
            tag: "offer-" + id,
            data: { url: "/agent/referrals?offer=" + id, offer_id: Number(id) }
          });
        });
      });
    }
    if (arrived.length) {
      var alert = document.getElementById("offer-alert");
      alert.textContent = alert.getAttribute("data-text");
      alert.hidden = false;
      document.title = "(" + ids.length + ") " + document.title;
      var Audio = window.AudioContext || window.webkitAudioContext;
      if (soundOn() && Audio) {
        try {
          var ctx = new Audio(), tone = ctx.createOscillator(), gain = ctx.createGain();
          tone.frequency.value = 880;
          gain.gain.value = 0.2;
          tone.connect(gain).connect(ctx.destination);
          tone.start();
          tone.stop(ctx.currentTime + 0.4);
        } catch (e) { /* no sound where the browser allows none */ }
      }
    }
  }

  var clocks = document.querySelectorAll("time.countdown");
  if (clocks.length) {
    var tick = function () {
      var now = Date.now();
      clocks.forEach(function (el) {
        var left = Math.max(0, Math.floor((Date.parse(el.getAttribute("datetime")) - now) / 1000));
        var out = el.nextElementSibling;
        if (!out || !out.classList.contains("countdown-left")) {
          out = document.createElement("span");
          out.className = "countdown-left";
          el.parentNode.insertBefore(out, el.nextSibling);
        }
        var m = Math.floor(left / 60), s = left % 60;
        out.textContent = " (" + m + ":" + (s < 10 ? "0" : "") + s + ")";
        // An offer that ran out leaves the list with its Accept button.
        var offer = el.closest("li.offer");
        if (left === 0 && offer) { offer.remove(); }
      });
    };
    tick();
    window.setInterval(tick, 1000);
  }

  // A CMS file upload can take a minute: say that it is on its way, and keep the button from
  // being pressed twice.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var status = form.querySelector(".upload-status");
      if (status) {
        status.hidden = false;
        status.querySelector("span").textContent = status.getAttribute("data-working");
      }
      var button = form.querySelector("button[type=submit]");
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    });
  });
}());
