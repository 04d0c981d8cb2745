// An offer's push in a real browser: the demo agent takes offers by app notification; the
// push the server wrote for a new offer is delivered to the page's service worker through the
// DevTools Protocol (headless Chromium cannot reach a real push service), the worker shows a
// notification with Accept and Decline, and its Accept handler accepts the offer with the
// one-time token the payload carried — no session involved. (On PostgreSQL the journeys share
// one database: this consumer's name is not one another journey looks for.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { withDemo } from "../lib/hod.mjs";

let hod, chrome;
withDemo((h, c) => { hod = h; chrome = c; });

async function api(method, path, body, bearer) {
  const headers = { "Content-Type": "application/json" };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const r = await fetch(`${hod.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

test("an offer's notification answers Accept with its token", async () => {
  // The agent takes offers by email and app notification, and is available now.
  const login = await api("POST", "/api/v1/agent/token", { username: "maria.garcia", password: "Agent-Demo-47!" });
  assert.equal(login.status, 200);
  const token = login.body.token;
  assert.equal((await api("PUT", "/api/v1/agent/profile", { contact_method: "email_app" }, token)).status, 200);
  assert.equal((await api("PUT", "/api/v1/agent/availability", { mode: "available" }, token)).status, 200);

  // Her browser, with notifications allowed for the site, runs the service worker.
  const context = await chrome.newContext({ locale: "en-US" });
  await context.grantPermissions(["notifications"], { origin: hod.url });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const registrations = [];
  const versions = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => registrations.push(...e.registrations));
  cdp.on("ServiceWorker.workerVersionUpdated", (e) => versions.push(...e.versions));
  await cdp.send("ServiceWorker.enable");
  await page.goto(`${hod.url}/agent/login`);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  const worker = context.serviceWorkers()[0] || (await context.waitForEvent("serviceworker"));

  // A consumer asks for help in the agent's ZIP; the offer's push is written for her.
  const key = hod.cli("api-key", "create", "--name", "push test").trim();
  const made = await api("POST", "/api/v1/referrals", {
    zip: "77002", language: "es", first_name: "Rosa", last_name: "Jiménez", phone: "713-555-0177",
    contact_by: "text", reason: "new_coverage",
    consent: { accepted: true, text_version: (await api("GET", "/api/v1/consent")).body.version },
  }, key);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  let push;
  for (let i = 0; i < 100 && !push; i++) {
    push = JSON.parse(hod.cli("outbox", "list", "--json"))
      .find((m) => m.channel === "push" && JSON.parse(m.body).referral_id === made.body.id);
    if (!push) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(push, "the offer's push is written");
  const payload = JSON.parse(push.body);
  assert.equal(payload.type, "offer");
  assert.ok(!push.body.includes("Jiménez") && !push.body.includes("555-0177"), "never who");

  // Delivered to the service worker as the push service would.
  const registration = registrations.find((r) => r.scopeURL === `${hod.url}/` && !r.isDeleted);
  assert.ok(registration, JSON.stringify(registrations));
  // A push reaches a worker only once its version is activated; delivered earlier, it is lost.
  const activated = () =>
    versions.some((v) => v.registrationId === registration.registrationId && v.status === "activated");
  for (let i = 0; i < 100 && !activated(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(activated(), JSON.stringify(versions));
  await cdp.send("ServiceWorker.deliverPushMessage", {
    origin: hod.url, registrationId: registration.registrationId, data: push.body,
  });
  let shown = [];
  for (let i = 0; i < 100 && shown.length === 0; i++) {
    shown = await page.evaluate(() => navigator.serviceWorker.ready
      .then((r) => r.getNotifications())
      .then((ns) => ns.map((n) => ({ title: n.title, body: n.body, actions: n.actions.map((a) => [a.action, a.title]) }))));
    if (shown.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(shown.length, 1, "one notification");
  assert.equal(shown[0].title, "You have a New Referral");
  assert.match(shown[0].body, /Houston, TX 77002/);
  assert.deepEqual(shown[0].actions, [["accept", "Accept"], ["decline", "Decline"]]);

  // Accept, as the worker's notificationclick handler does it.
  await worker.evaluate(async () => {
    const [n] = await self.registration.getNotifications();
    await answer(n, "accept");
  });
  const offers = await api("GET", "/api/v1/agent/offers", null, token);
  assert.deepEqual(offers.body, [], "the offer is answered");
  const mine = await api("GET", `/api/v1/agent/referrals/${payload.referral_id}`, null, token);
  assert.equal(mine.status, 200);
  assert.equal(mine.body.status, "accepted");
  assert.equal(await page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.length)), 0,
    "the notification is gone");
  await context.close();
});
