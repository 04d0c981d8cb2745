// The agent's journey in a real browser, in English and in Spanish: from the invitation in
// the outbox through registration, phone confirmation, terms, profile, availability, a
// passkey, logging out and back in, and both "forgot" flows. Every page passes axe.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHod, importAgents, browser, pageProblems, PHONE, DESKTOP } from "../lib/hod.mjs";

let hod, chrome;
const PASSWORD = "Blue-Harbor-47";

before(async () => {
  hod = await startHod();
  importAgents(hod, [
    { npn: "6000001", first: "Erin", last: "English", email: "erin.english@agency.test", state: "TX" },
    { npn: "6000002", first: "Sara", last: "Spanish", email: "sara.spanish@agency.test", state: "FL" },
  ]);
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  hod?.stop();
});

async function checked(page, what) {
  assert.deepEqual(await pageProblems(page), [], `axe and layout on ${what}`);
}

async function link(email, path) {
  const mail = await hod.waitForMessage(email, (m) => m.body.includes(path));
  assert.ok(mail, `an email to ${email} with ${path}`);
  return mail.body.match(new RegExp(`http://\\S+${path}\\S*`))[0];
}

function code(phone) {
  const sms = hod.outbox(phone).filter((m) => m.channel === "sms").pop();
  return sms.body.match(/Your code is (\d{6})/)[1];
}

async function journey(lang, who, t, viewport) {
  const context = await chrome.newContext({ locale: lang === "es" ? "es-US" : "en-US", viewport });
  const page = await context.newPage();

  // The invitation email, then registration.
  await page.goto(await link(who.email, "/register/"));
  await page.getByRole("heading", { name: t.register }).waitFor();
  await checked(page, "registration");
  await page.getByLabel(t.phone).fill(who.phone);
  await page.getByLabel(t.zip).fill(who.zip);
  await page.getByLabel(t.username, { exact: true }).fill(who.username);
  await page.getByLabel(t.password, { exact: true }).fill("short");
  await page.locator('li[data-rule="length"].unmet').waitFor(); // the live checklist
  // A password that meets the other rules but contains the username is shown as refused,
  // as the server would refuse it.
  await page.getByLabel(t.password, { exact: true }).fill(`${who.username.split(".")[0]}-Harbor-47`.replace(/^./, (c) => c.toUpperCase()));
  await page.locator('li[data-rule="not_common"].unmet').waitFor();
  await page.locator('li[data-rule="length"].met').waitFor();
  await page.getByLabel(t.password, { exact: true }).fill(PASSWORD);
  await page.locator('li[data-rule="not_common"].met').waitFor();
  await page.getByLabel(t.confirm).fill(PASSWORD);
  await page.getByLabel(t.terms).check();
  await page.getByRole("button", { name: t.signUp }).click();
  await page.getByRole("heading", { name: t.almost }).waitFor();
  await checked(page, "registration almost complete");

  // Log in (remember the username), the terms gate, then the phone code.
  await page.getByRole("link", { name: t.continue }).click();
  await checked(page, "login");
  await page.getByLabel(t.username, { exact: true }).fill(who.username);
  await page.getByLabel(t.password, { exact: true }).fill(PASSWORD);
  await page.getByLabel(t.remember).check();
  await page.getByRole("button", { name: t.logIn, exact: true }).click();
  await page.getByRole("heading", { name: t.termsTitle, exact: true }).waitFor();
  await checked(page, "terms");
  await page.getByRole("button", { name: t.accept }).click();
  await page.getByRole("heading", { name: t.confirmPhone }).waitFor();
  await checked(page, "dashboard");

  await page.getByLabel(t.code).fill(code(who.e164));
  await page.getByRole("button", { name: t.confirm_, exact: true }).click();
  await page.getByText(t.phoneConfirmed).waitFor();

  // Profile and availability.
  await page.getByRole("link", { name: t.profile, exact: true }).click();
  await checked(page, "profile");
  await page.locator('input[name="languages"][value="es"]').check();
  await page.locator('form[action="/agent/profile/languages"] button').click();
  await page.getByText(t.saved).first().waitFor();
  await page.getByRole("link", { name: t.availability }).click();
  await checked(page, "availability");
  await page.getByLabel(t.red).check();
  await page.locator('form[action="/agent/availability/mode"] button').click();
  await page.getByText(t.notNow).waitFor();
  // Home says at once that no referrals come now, and what to do about it.
  await page.getByRole("link", { name: t.home }).click();
  await page.getByRole("heading", { name: t.notReceiving }).waitFor();
  await page.getByRole("link", { name: t.stepAvailability }).click();
  await page.getByRole("heading", { name: t.availability, exact: true }).waitFor();

  // A passkey, with Chromium's virtual authenticator.
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  await page.getByRole("link", { name: t.help, exact: true }).click();
  await checked(page, "help");
  await page.getByRole("link", { name: t.security }).click();
  await checked(page, "security");
  await page.getByLabel(t.deviceName).fill("Chromium");
  await page.getByRole("button", { name: t.addPasskey }).click();
  await page.getByText("Chromium ·").waitFor();

  // Log out; the login page remembers the username; log in with the passkey, which comes
  // back to the page that asked for it.
  await page.getByRole("link", { name: t.home }).click();
  await page.getByRole("button", { name: t.logOut, exact: true }).click();
  await page.getByLabel(t.username, { exact: true }).waitFor();
  await page.goto(`${hod.url}/agent/security`);
  assert.equal(await page.getByLabel(t.username, { exact: true }).inputValue(), who.username);
  await page.getByRole("button", { name: t.passkeyLogin }).click();
  await page.getByRole("heading", { name: t.security, exact: true }).waitFor();
  await page.getByRole("button", { name: t.logOut, exact: true }).waitFor();
  await page.getByRole("button", { name: t.logOut, exact: true }).click();

  // Forgot username, forgot password.
  await page.getByRole("link", { name: t.forgotUsername }).click();
  await checked(page, "forgot username");
  await page.getByLabel(t.email).fill(who.email);
  await page.getByRole("button", { name: t.send }).click();
  await page.getByText(t.usernameSent).waitFor();
  assert.ok(await hod.waitForMessage(who.email, (m) => m.body.includes(who.username)));
  await page.goto(`${hod.url}/agent/forgot-password`);
  await checked(page, "forgot password");
  await page.getByLabel(t.username, { exact: true }).fill(who.username);
  await page.getByRole("button", { name: t.send }).click();
  await page.goto(await link(who.email, "/agent/reset/"));
  await checked(page, "reset");
  await page.getByLabel(t.newPassword).fill("Green-Valley-58");
  await page.getByLabel(t.confirm).fill("Green-Valley-58");
  await page.getByRole("button", { name: t.saveNew }).click();
  await page.getByText(t.loggedOutEverywhere).waitFor();
  await page.goto(`${hod.url}/agent/login`);
  await page.getByLabel(t.password, { exact: true }).fill("Green-Valley-58");
  await page.getByRole("button", { name: t.logIn, exact: true }).click();
  await page.getByRole("button", { name: t.logOut, exact: true }).waitFor();

  // A page asked for while logged out comes back once logged in; the header says who is
  // logged in and whether they are taking referrals (they switched to red above).
  await page.getByRole("button", { name: t.logOut, exact: true }).click();
  await page.goto(`${hod.url}/agent/availability`);
  await page.getByLabel(t.password, { exact: true }).fill("Green-Valley-58");
  await page.getByRole("button", { name: t.logIn, exact: true }).click();
  await page.getByRole("heading", { name: t.availability, exact: true }).waitFor();
  const header = page.locator(".agent-bar");
  await header.getByText(who.name).waitFor();
  await header.getByRole("link", { name: t.badgeOff }).waitFor();
  await checked(page, "availability after logging in again");
  await context.close();
}

const EN = {
  register: "Get Started by Creating a Profile", phone: "Phone Number", zip: "Zip Code", username: "Username",
  password: "Password", confirm: "Confirm Password", terms: "I read and agree to Help On Demand Terms of Use",
  signUp: "Sign Up", almost: "Your registration is almost complete!", continue: "Log in and Continue",
  remember: "Remember my Username", logIn: "Log In", termsTitle: "Terms of Use", accept: "Accept",
  confirmPhone: "Confirm your phone", code: "Code from the text", confirm_: "Confirm", phoneConfirmed: "Your phone number is confirmed.",
  profile: "Profile", saved: "Saved.", availability: "Availability Settings", red: "Not available (red)",
  notNow: "You are not taking referrals now.", security: "Security", help: "Help", deviceName: "Name of this device", addPasskey: "Add a passkey",
  home: "Home", logOut: "Log out", passkeyLogin: "Log in with a passkey", forgotUsername: "Forgot Username?", email: "Email",
  send: "Send", usernameSent: "If that email address belongs", newPassword: "New Password", saveNew: "Save new password",
  loggedOutEverywhere: "You were logged out everywhere.", badgeOff: "Not available",
  notReceiving: "You are not receiving referrals right now", stepAvailability: /^Turn on your availability/,
};

const ES = {
  register: "Comience creando un perfil", phone: "Número de teléfono", zip: "Código postal", username: "Nombre de usuario",
  password: "Contraseña", confirm: "Confirmar contraseña", terms: "Leí y acepto las Condiciones de uso de Help On Demand",
  signUp: "Inscribirse", almost: "¡Su registro está casi completo!", continue: "Iniciar sesión y continuar",
  remember: "Recordar mi nombre de usuario", logIn: "Iniciar sesión", termsTitle: "Condiciones de uso", accept: "Aceptar",
  confirmPhone: "Confirme su teléfono", code: "Código del mensaje de texto", confirm_: "Confirmar", phoneConfirmed: "Su número de teléfono está confirmado.",
  profile: "Perfil", saved: "Guardado.", availability: "Configuración de disponibilidad", red: "No disponible (rojo)",
  notNow: "No está recibiendo referidos ahora.", security: "Seguridad", help: "Ayuda", deviceName: "Nombre de este dispositivo", addPasskey: "Agregar una llave de acceso",
  home: "Inicio", logOut: "Cerrar sesión", passkeyLogin: "Iniciar sesión con una llave de acceso", forgotUsername: "¿Olvidó su nombre de usuario?",
  email: "Correo electrónico", send: "Enviar", usernameSent: "Si ese correo electrónico pertenece", newPassword: "Contraseña nueva",
  saveNew: "Guardar la contraseña nueva", loggedOutEverywhere: "Se cerró su sesión en todos los dispositivos.",
  badgeOff: "No disponible",
  notReceiving: "Ahora no está recibiendo referidos", stepAvailability: /^Active su disponibilidad/,
};

test("an invited agent goes from the email to passkey login, in English on a phone", async () => {
  await journey("en", { email: "erin.english@agency.test", username: "erin.english", name: "Erin English", phone: "(713) 555-0111", e164: "+17135550111", zip: "77002" }, EN, PHONE);
});

test("the same journey in Spanish on a computer", async () => {
  await journey("es", { email: "sara.spanish@agency.test", username: "sara.spanish", name: "Sara Spanish", phone: "(305) 555-0122", e164: "+13055550122", zip: "33130" }, ES, DESKTOP);
});
