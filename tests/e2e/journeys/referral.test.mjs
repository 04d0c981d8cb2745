// A referral from end to end in real browsers: a consumer on a phone asks for help in
// Spanish; the demo agent, on Manage Referrals, sees the offer arrive without reloading,
// accepts it, sees the consumer's contact details and records Follow-Up Completed; the
// consumer's status page shows the acceptance by itself. Every page passes axe.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withDemo, pageProblems, PHONE } from "../lib/hod.mjs";

let hod, chrome;
withDemo((h, c) => { hod = h; chrome = c; });

async function checked(page, what) {
  assert.deepEqual(await pageProblems(page), [], `axe and layout on ${what}`);
}

test("a Spanish-speaking consumer is helped by the demo agent", async () => {
  // The agent logs in and switches to green, whatever the hour the test runs at.
  const agentContext = await chrome.newContext({ locale: "en-US" });
  const agent = await agentContext.newPage();
  await agent.goto(`${hod.url}/agent/login`);
  await agent.getByLabel("Username", { exact: true }).fill("maria.garcia");
  await agent.getByLabel("Password", { exact: true }).fill("Agent-Demo-47!");
  await agent.getByRole("button", { name: "Log In", exact: true }).click();
  // The demo is consistent: no code was texted, so none is asked for.
  await agent.getByRole("heading", { name: "Your Help On Demand account" }).waitFor();
  assert.equal(await agent.getByRole("heading", { name: "Confirm your phone" }).count(), 0);
  await agent.getByRole("link", { name: "Availability Settings" }).click();
  await agent.locator('input[name="mode"][value="available"]').check();
  await agent.locator('form[action="/agent/availability/mode"] button').click();
  await agent.getByRole("link", { name: "Manage Referrals" }).click();
  await agent.getByRole("heading", { name: "New referral offers" }).waitFor();
  await checked(agent, "Manage Referrals, no offers");
  // Browser notifications are offered, not asked for on load; the agent says yes.
  const notify = agent.getByRole("button", { name: "Also tell me on this device when an offer arrives" });
  assert.equal(await agent.evaluate(() => Notification.permission), "default", "not asked on load");
  await agentContext.grantPermissions(["notifications"]);
  await notify.click();
  await agent.getByText("This device will show a notification when an offer arrives").waitFor();
  assert.equal(await notify.isVisible(), false);

  // The consumer, on a phone, in Spanish.
  const consumerContext = await chrome.newContext({ locale: "es-US", viewport: PHONE, isMobile: true, hasTouch: true });
  const consumer = await consumerContext.newPage();
  await consumer.goto(`${hod.url}/`);
  await consumer.getByRole("link", { name: "Obtener ayuda ahora" }).click();
  await consumer.getByRole("heading", { name: "Reciba ayuda de un agente con licencia" }).waitFor();
  await checked(consumer, "request form");
  await consumer.getByRole("button", { name: "Pedir ayuda" }).click();
  await consumer.getByRole("heading", { name: "Hay un problema" }).waitFor();
  await checked(consumer, "request form with errors");
  // The summary has the focus and names each field; each field with a problem is marked.
  assert.equal(await consumer.evaluate(() => document.activeElement.classList.contains("error-summary")), true);
  await consumer.locator(".error-summary").getByRole("link", { name: "Código postal: Este campo es obligatorio." }).waitFor();
  await consumer.locator(".error-summary").getByRole("link", { name: /^Consentimiento para que se comuniquen con usted: / }).waitFor();
  assert.equal(await consumer.locator(".field.invalid").count() >= 4, true, "fields with problems are outlined");
  await consumer.getByLabel("Código postal").fill("77002");
  await consumer.getByLabel("Idioma que prefiere").selectOption("es");
  await consumer.getByLabel("Nombre", { exact: true }).fill("Lucía");
  await consumer.getByLabel("Apellido").fill("Fernández");
  await consumer.getByLabel("Número de teléfono").fill("(713) 555-0188");
  await consumer.getByRole("radio", { name: "Mensaje de texto" }).check();
  await consumer.getByRole("radio", { name: /Período de Inscripción Especial/ }).check();
  await consumer.getByRole("checkbox", { name: /Acepto que un agente/ }).check();
  await consumer.getByRole("button", { name: "Pedir ayuda" }).click();
  await consumer.getByRole("heading", { name: "Estamos buscando un agente con licencia cerca de usted" }).waitFor();
  await checked(consumer, "status page, searching");
  const sms = hod.outbox("+17135550188");
  assert.ok(sms.some((m) => m.body.includes("recibimos su solicitud")), "a confirmation text in Spanish");

  // The offer arrives on the agent's open page by itself: where and what, not who.
  const offer = agent.locator("li.offer").filter({ hasText: "Houston, TX 77002" });
  await offer.waitFor({ timeout: 15000 });
  assert.ok(!(await agent.content()).includes("Fernández"));
  // Announced: a visible alert and the count in the tab's title.
  await agent.getByRole("alert").filter({ hasText: "A new referral offer arrived" }).waitFor();
  assert.match(await agent.title(), /^\(1\) /);
  await checked(agent, "Manage Referrals with an offer");

  // The link in the offer's email leads, through the log-in page, to that very offer.
  const mail = await hod.waitForMessage("maria.garcia@demo.invalid", (m) => m.body.includes("/agent/referrals?offer="));
  const link = mail.body.match(/http:\/\/\S+\/agent\/referrals\?offer=\d+/)[0];
  const phoneContext = await chrome.newContext({ locale: "en-US", viewport: PHONE, isMobile: true, hasTouch: true });
  const phone = await phoneContext.newPage();
  await phone.goto(link);
  await phone.getByLabel("Username", { exact: true }).fill("maria.garcia");
  await phone.getByLabel("Password", { exact: true }).fill("Agent-Demo-47!");
  await phone.getByRole("button", { name: "Log In", exact: true }).click();
  await phone.waitForURL(/\/agent\/referrals\?offer=\d+$/);
  const linked = phone.locator("li.offer.linked");
  await linked.filter({ hasText: "Houston, TX 77002" }).waitFor();
  assert.equal(await phone.evaluate(() => document.activeElement.classList.contains("linked")), true, "the offer has the focus");
  await checked(phone, "the linked offer on a phone");
  await phoneContext.close();

  // At its deadline the offer leaves the list, its Accept button with it (this browser's
  // clock is moved on; the server's is not, so the offer is still there to accept below).
  const laterContext = await chrome.newContext({ locale: "en-US" });
  await laterContext.clock.install();
  const later = await laterContext.newPage();
  await later.goto(`${hod.url}/agent/login?next=%2Fagent%2Freferrals`);
  await later.getByLabel("Username", { exact: true }).fill("maria.garcia");
  await later.getByLabel("Password", { exact: true }).fill("Agent-Demo-47!");
  await later.getByRole("button", { name: "Log In", exact: true }).click();
  const pending = later.locator("li.offer").filter({ hasText: "Houston, TX 77002" });
  await pending.waitFor();
  await later.clock.fastForward("16:00");
  await pending.waitFor({ state: "detached" });
  assert.equal(await later.getByRole("button", { name: "Accept" }).count(), 0);
  await laterContext.close();

  await offer.getByRole("button", { name: "Accept" }).click();
  await agent.getByRole("heading", { name: "Lucía Fernández" }).waitFor();
  await agent.getByText("(713) 555-0188").waitFor();
  await checked(agent, "the accepted referral");
  await agent.getByLabel("Status").selectOption("follow_up_completed");
  await agent.getByRole("button", { name: "Save" }).first().click();
  await agent.getByText("Saved.").waitFor();
  assert.equal(await agent.locator("#current-status").textContent(), "Follow-Up Completed");

  // The consumer's page has changed by itself.
  await consumer.getByRole("heading", { name: "Un agente con licencia aceptó su solicitud" }).waitFor({ timeout: 15000 });
  await consumer.getByText("Maria G., agente con licencia, aceptó su solicitud y se comunicará con usted en un plazo de 60 minutos.").waitFor();
  await checked(consumer, "status page, accepted");
  await agentContext.close();
  await consumerContext.close();
});
