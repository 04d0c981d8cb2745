// Starts a real `hod serve` on a fresh database (SQLite, or PostgreSQL when HOD_E2E_PG_URL is
// set), feeds it CMS files through `hod import`, and reads its outbox — what a person
// following the system by hand would do.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { chromium } from "playwright-core";
import { before, after } from "node:test";

const BIN = process.env.HOD_BIN || new URL("../../../target/debug/hod", import.meta.url).pathname;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/// `command` is "serve" (an empty program) or "demo" (the demo data set, logins printed).
export async function startHod(command = "serve") {
  const dir = mkdtempSync(join(tmpdir(), "hod-e2e-"));
  const port = await freePort();
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("HOD_")) delete env[k];
  // The links in messages (written by `hod import` too) must name the server the browser uses.
  // One master key for every run: the PostgreSQL runs share a database (a test key, not a secret).
  Object.assign(env, {
    HOD_DATA_DIR: dir,
    HOD_LOG: "warn",
    HOD_PUBLIC_URL: `http://localhost:${port}`,
    HOD_DATA_KEY: "aG9kLXRlc3QtZGF0YS1rZXktbm90LWEtc2VjcmV0ISE=",
  });
  if (process.env.HOD_E2E_PG_URL) env.HOD_DATABASE_URL = process.env.HOD_E2E_PG_URL;
  // The demo keeps its own file; name it so that the CLI below reads the same database.
  else if (command === "demo") env.HOD_DATABASE_URL = `sqlite://${join(dir, "demo.sqlite")}`;
  const child = spawn(BIN, [command, "--addr", `127.0.0.1:${port}`], { env, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/hod listening on http:\/\/([\d.]+:\d+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`hod exited with ${code}`)));
  });
  const cli = (...args) => execFileSync(BIN, args, { env, encoding: "utf8" });
  const outbox = (to) => JSON.parse(cli("outbox", "list", "--to", to, "--json"));
  return {
    url: `http://localhost:${port}`,
    dir,
    cli,
    outbox,
    // Some messages are written just after the page answers (a forgotten password is
    // answered before the account is looked up): look again, as a person refreshes a mailbox,
    // for up to 10 seconds.
    waitForMessage: async (to, wanted) => {
      for (let i = 0; i < 100; i++) {
        const found = outbox(to).reverse().find(wanted);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 100));
      }
      return undefined;
    },
    stop: () => child.kill("SIGTERM"),
  };
}

/// This plan year by the real calendar (the server runs on the real clock).
function planYear() {
  const now = new Date();
  return now.getUTCMonth() >= 10 ? now.getUTCFullYear() + 1 : now.getUTCFullYear();
}

/// Writes and imports MLMS, RCL and NIPR files for the given agents, which become eligible.
export function importAgents(hod, agents) {
  const py = planYear();
  const prev = py - 1;
  const mlms = ["NPN,First Name,Last Name,Email,Plan Year,HOD Course Completion Date"];
  const rcl = ["NPN,Applicable Plan Year,Individual Registration Completion Date,Individual Marketplace End Date,Shop Registration Completion Date,Shop End Date,NPN Valid (Current Plan Year Only)"];
  const nipr = ["NPN,State,License Number,License Class,Residency,Active,Expiration Date,LOA,LOA Code,LOA Status,LOA Status Date"];
  for (const a of agents) {
    mlms.push(`${a.npn},${a.first},${a.last},${a.email},${py},10/01/${prev}`);
    rcl.push(`${a.npn},${py},09/02/${prev},10/31/${py},,,Y`);
    nipr.push(`${a.npn},${a.state},${a.state}-${a.npn},Insurance Producer,Resident,Yes,,Accident & Health or Sickness,14,Active,`);
  }
  for (const [kind, lines] of [["mlms", mlms], ["rcl", rcl], ["nipr", nipr]]) {
    const file = join(hod.dir, `${kind}.csv`);
    writeFileSync(file, lines.join("\n") + "\n");
    hod.cli("import", kind, file);
  }
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.HOD_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/// Runs axe on the page; returns the serious and critical violations.
export async function axeProblems(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/// What a person on a phone or with large text would hit on this page: anything wider than a
/// 390 px screen (with the element that sticks out), and, with the text zoomed to 200% (the
/// browser's default font size doubled), any control whose text is smaller than the body's.
export async function layoutProblems(page) {
  const problems = [];
  const size = page.viewportSize();
  await page.setViewportSize(PHONE);
  const wide = await page.evaluate(() => {
    const limit = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= limit) return null;
    const culprit = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > limit + 1)
      .filter((e) => !e.closest(".visually-hidden, .skip-link"))
      .pop();
    return `${document.documentElement.scrollWidth}px wide (${culprit?.tagName.toLowerCase()}.${culprit?.className} "${culprit?.textContent.trim().slice(0, 40)}")`;
  });
  if (wide) problems.push(`wider than ${PHONE.width}px: ${wide}`);
  const small = await page.evaluate(() => {
    document.documentElement.style.fontSize = "200%";
    const body = parseFloat(getComputedStyle(document.body).fontSize);
    const found = [...document.querySelectorAll("button, select, textarea, input, .button")]
      .filter((e) => e.getClientRects().length > 0 && !["checkbox", "radio", "hidden"].includes(e.type))
      .map((e) => [e, parseFloat(getComputedStyle(e).fontSize)])
      .filter(([, px]) => px + 0.5 < body)
      .map(([e, px]) => `${e.tagName.toLowerCase()}#${e.id || e.name || ""} ${px}px < body ${body}px`);
    document.documentElement.style.fontSize = "";
    return found;
  });
  problems.push(...small.map((s) => `at 200% text: ${s}`));
  await page.setViewportSize(size);
  return problems;
}

/// axe's serious and critical findings and the layout problems above, for one page.
export async function pageProblems(page) {
  return [...(await axeProblems(page)), ...(await layoutProblems(page))];
}

/// For a test file: a `hod demo` and a Chromium started before its tests (handed to `ready`)
/// and stopped after them.
export function withDemo(ready) {
  let hod, chrome;
  before(async () => {
    hod = await startHod("demo");
    chrome = await browser();
    ready(hod, chrome);
  });
  after(async () => {
    await chrome?.close();
    hod?.stop();
  });
}
