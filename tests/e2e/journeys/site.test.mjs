// The public site as a newcomer meets it, in English and Spanish, on a phone and a computer:
// every page fits a 390 px screen, grows with the text, passes axe, links the footer's pages
// and dials the call center with a tap; and a crowded address asking for help is not locked
// out, while the form it eventually runs into keeps what was typed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withDemo, pageProblems, PHONE, DESKTOP } from "../lib/hod.mjs";

let hod, chrome;
withDemo((h, c) => { hod = h; chrome = c; });

const PAGES = ["/", "/get-help", "/agent/login", "/agent/forgot-username", "/agent/forgot-password",
  "/privacy", "/terms", "/accessibility", "/contact"];

const WORDS = {
  en: { footer: ["Privacy", "Terms of Use", "Accessibility", "Contact"], terms: "Help On Demand Terms of Use" },
  es: { footer: ["Privacidad", "Condiciones de uso", "Accesibilidad", "Contacto"], terms: "Condiciones de uso de Help On Demand" },
};

for (const [lang, viewport] of [["en", PHONE], ["es", DESKTOP], ["es", PHONE], ["en", DESKTOP]]) {
  test(`public pages in ${lang} at ${viewport.width}px`, async () => {
    const context = await chrome.newContext({ locale: lang === "es" ? "es-US" : "en-US", viewport });
    const page = await context.newPage();
    for (const path of PAGES) {
      await page.goto(`${hod.url}${path}`);
      assert.equal(await page.locator("html").getAttribute("lang"), lang, path);
      assert.deepEqual(await pageProblems(page), [], `axe and layout on ${path}`);
      const title = await page.title();
      assert.ok(!/[<>]/.test(title), `${path}: the title is text: ${title}`);
      const text = await page.locator("body").innerText();
      assert.ok(!/lead distribution/i.test(text), `${path}: consumers are not leads`);
      const footer = page.locator("footer");
      for (const name of WORDS[lang].footer) {
        await footer.getByRole("link", { name, exact: true }).waitFor();
      }
      // Every phone number written out can be dialled with a tap.
      const unlinked = await page.evaluate(() => {
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const found = [];
        while (walker.nextNode()) {
          const node = walker.currentNode;
          if (/\b1-\d{3}-\d{3}-\d{4}\b/.test(node.textContent) && !node.parentElement.closest("a[href^='tel:']")) {
            found.push(node.textContent.trim().slice(0, 60));
          }
        }
        return found;
      });
      assert.deepEqual(unlinked, [], `${path}: phone numbers not tappable`);
    }
    // The terms named beside the sign-up checkbox can be read by anyone.
    await page.goto(`${hod.url}/terms`);
    await page.getByRole("heading", { name: WORDS[lang].terms }).first().waitFor();
    await context.close();
  });
}

test("languages and states are named and sorted in the reader's words", async () => {
  for (const [lang, locale, vietnamese] of [["en", "en-US", "Vietnamese (Tiếng Việt)"], ["es", "es-US", "Vietnamita (Tiếng Việt)"]]) {
    const context = await chrome.newContext({ locale, viewport: PHONE });
    const page = await context.newPage();
    await page.goto(`${hod.url}/get-help`);
    const names = await page.locator("#language option").allTextContents();
    assert.deepEqual(names.slice(0, 2), lang === "en" ? ["English", "Spanish (Español)"] : ["Inglés (English)", "Español"]);
    assert.ok(names.includes(vietnamese), names.join(", "));
    const sorted = await page.evaluate(([rest, l]) => [...rest].sort(new Intl.Collator(l).compare), [names.slice(2), lang]);
    assert.deepEqual(names.slice(2), sorted, `${lang}: in the reader's order`);
    await page.goto(`${hod.url}/`);
    const states = await page.locator(".state-list li").allTextContents();
    assert.ok(states.length > 10, "the landing page lists the states served");
    const sortedStates = await page.evaluate(([rest, l]) => [...rest].sort(new Intl.Collator(l).compare), [states, lang]);
    assert.deepEqual(states, sortedStates, `${lang}: states in the reader's order`);
    if (lang === "es") assert.ok(states.indexOf("Míchigan") >= 0 && states.indexOf("Míchigan") < states.indexOf("Misisipi"));
    await context.close();
  }
});

test("a form sent back names each field with a problem, in English on a computer", async () => {
  const context = await chrome.newContext({ locale: "en-US", viewport: DESKTOP });
  const page = await context.newPage();
  await page.goto(`${hod.url}/get-help`);
  await page.getByLabel("Phone number").fill("(113) 555-0100");
  await page.getByRole("button", { name: "Ask for help" }).click();
  await page.getByRole("heading", { name: "There is a problem" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains("error-summary")), true);
  const summary = page.locator(".error-summary");
  await summary.getByRole("link", { name: "Zip Code: This field is required." }).waitFor();
  await summary.getByRole("link", { name: /^Phone Number: This is not a US phone number: the area code and the three digits after it cannot start with 0 or 1\.$/ }).waitFor();
  // The link leads to the field.
  await summary.getByRole("link", { name: /^Phone Number:/ }).click();
  assert.equal(await page.evaluate(() => location.hash), "#phone");
  assert.ok(await page.locator(".field.invalid #phone").count());
  assert.deepEqual(await pageProblems(page), [], "axe and layout on the form with problems");
  await context.close();
});

test("people sharing one address can all ask; the form over its budget keeps what was typed", async () => {
  const context = await chrome.newContext({ locale: "es-US", viewport: PHONE, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(`${hod.url}/get-help`);
  // Hundreds of posts from this address (forms with a mistake: nobody's phone rings) are
  // answered before the form's budget runs out.
  let answered = 0;
  for (;;) {
    const r = await page.request.post(`${hod.url}/get-help`, { form: { zip: "1" }, headers: { origin: hod.url } });
    if (r.status() === 429) break;
    assert.equal(r.status(), 422);
    answered += 1;
    assert.ok(answered <= 300, "the budget has an end");
  }
  assert.ok(answered >= 290, `${answered} posts answered`);
  await page.getByLabel("Código postal").fill("77002");
  await page.getByLabel("Nombre", { exact: true }).fill("Rosa");
  await page.getByLabel("Apellido").fill("Núñez");
  await page.getByLabel("Número de teléfono").fill("(713) 555-0177");
  await page.getByRole("checkbox", { name: /Acepto que un agente/ }).check();
  await page.getByRole("button", { name: "Pedir ayuda" }).click();
  await page.getByRole("heading", { name: "Demasiados intentos" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "", "the notice, not a field, has the focus");
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains("error-summary")), true);
  await page.getByText(/Espere 10 minutos/).waitFor();
  assert.equal(await page.getByLabel("Nombre", { exact: true }).inputValue(), "Rosa");
  assert.equal(await page.getByLabel("Número de teléfono").inputValue(), "(713) 555-0177");
  await page.locator("main").getByRole("link", { name: "1-800-318-2596" }).first().waitFor();
  assert.equal(await page.locator("main a[href='tel:+18003182596']").count() > 0, true);
  assert.deepEqual(await pageProblems(page), [], "axe and layout on the refused form");
  await context.close();
});
