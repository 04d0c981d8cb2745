// Passkeys: adding one on the Security tab, and logging in with one on the login page.
// WebAuthn wants bytes; the server speaks base64url JSON.
(function () {
  "use strict";
  var b64 = {
    decode: function (s) {
      s = s.replace(/-/g, "+").replace(/_/g, "/");
      while (s.length % 4) { s += "="; }
      var bin = atob(s), out = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
      return out.buffer;
    },
    encode: function (buf) {
      var bytes = new Uint8Array(buf), bin = "";
      for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
      return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }
  };
  var post = function (url, body) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) { throw new Error((j.error && j.error.message) || r.statusText); } return j; }); });
  };
  var status = function (el, text) { if (el) { el.textContent = text; } };

  // Agents' and operators' pages share this script; each element names its endpoints.
  var add = document.getElementById("passkey-add");
  if (add && window.PublicKeyCredential) {
    add.hidden = false;
    var unsupported = document.getElementById("passkey-unsupported");
    if (unsupported) { unsupported.hidden = true; }
    var addBase = add.getAttribute("data-base");
    add.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = document.getElementById("passkey-status");
      post(addBase + "/register/start", {}).then(function (start) {
        var pk = start.publicKey;
        pk.challenge = b64.decode(pk.challenge);
        pk.user.id = b64.decode(pk.user.id);
        (pk.excludeCredentials || []).forEach(function (c) { c.id = b64.decode(c.id); });
        return navigator.credentials.create({ publicKey: pk }).then(function (cred) {
          return post(addBase + "/register/finish", {
            ceremony: start.ceremony,
            name: add.elements.name.value,
            credential: {
              id: cred.id, rawId: b64.encode(cred.rawId), type: cred.type,
              response: { attestationObject: b64.encode(cred.response.attestationObject), clientDataJSON: b64.encode(cred.response.clientDataJSON) },
              extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
            }
          });
        });
      }).then(function () { window.location.reload(); })
        .catch(function (err) { status(out, add.getAttribute("data-failed") + " " + err.message); });
    });
  }

  var login = document.getElementById("passkey-login");
  if (login && window.PublicKeyCredential) {
    login.hidden = false;
    var loginBase = login.getAttribute("data-base");
    login.addEventListener("click", function () {
      var out = document.getElementById("passkey-login-status");
      var username = document.getElementById("username").value;
      post(loginBase + "/login/start", { username: username }).then(function (start) {
        var pk = start.publicKey;
        pk.challenge = b64.decode(pk.challenge);
        (pk.allowCredentials || []).forEach(function (c) { c.id = b64.decode(c.id); });
        if (!pk.rpId) { delete pk.rpId; }
        return navigator.credentials.get({ publicKey: pk }).then(function (cred) {
          // Back to the page the log-in form was to return to, as a password log-in does.
          var next = document.querySelector('form[action="' + login.getAttribute("data-form") + '"] input[name="next"]');
          return post(loginBase + "/login/finish", {
            next: next ? next.value : null,
            ceremony: start.ceremony,
            credential: {
              id: cred.id, rawId: b64.encode(cred.rawId), type: cred.type,
              response: {
                authenticatorData: b64.encode(cred.response.authenticatorData),
                clientDataJSON: b64.encode(cred.response.clientDataJSON),
                signature: b64.encode(cred.response.signature),
                userHandle: cred.response.userHandle ? b64.encode(cred.response.userHandle) : null
              },
              extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
            }
          });
        });
      }).then(function (done) { window.location.assign(done.next); })
        .catch(function () { status(out, login.getAttribute("data-failed")); });
    });
  }
}());
