// The live password checklist: asks the server which rules the password fails (one
// implementation of the rules, in the server) and ticks the list as the agent types.
(function () {
  "use strict";
  var input = document.getElementById("password");
  var list = document.getElementById("password-rules");
  if (!input || !list) { return; }
  var form = input.form;
  var timer = null;
  var field = function (name) { var el = form.elements[name]; return el ? el.value : ""; };
  var update = function () {
    var body = {
      password: input.value,
      username: field("username") || list.getAttribute("data-username") || "",
      email: list.getAttribute("data-email") || "",
      first_name: list.getAttribute("data-first-name") || "",
      last_name: list.getAttribute("data-last-name") || ""
    };
    fetch("/api/v1/password-policy/check", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json(); }).then(function (v) {
      var items = list.querySelectorAll("li[data-rule]");
      for (var i = 0; i < items.length; i++) {
        var li = items[i];
        var met = input.value.length > 0 && v.failed.indexOf(li.getAttribute("data-rule")) < 0;
        li.className = input.value.length === 0 ? "" : (met ? "met" : "unmet");
        var state = li.querySelector(".state");
        if (state) { state.textContent = input.value.length === 0 ? "" : (met ? list.getAttribute("data-met") : list.getAttribute("data-unmet")); }
      }
    }).catch(function () { /* the server checks again on Sign Up */ });
  };
  input.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(update, 120);
  });
}());
