// Registers the service worker, so the site installs as an app on phones; keeps live pages
// (the consumer's status, Manage Referrals) up to date through server-sent events, and counts
// down the time left on offers. Every page works without it.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* the site works without it */ });
  }

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
      });
    };
    tick();
    window.setInterval(tick, 1000);
  }
}());
