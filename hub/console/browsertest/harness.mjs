// What every browser test here shares: reading its settings from the
// environment, Debian's Chromium launched headless on a fresh profile with
// every request kept on loopback, the step being run named when it fails
// (with a screenshot of the page), and the checks run on every page.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import assert from "node:assert/strict";

// env returns the environment variable k, which must be set.
export const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

// loopback tells whether URL u stays on this machine.
export const loopback = (u) => ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);

// unlabelled lists the page's form controls without a label and its
// duplicate ids.
export const unlabelled = (page) => page.evaluate(() => {
  const bad = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (el.labels.length === 0 && !el.getAttribute("aria-label")) bad.push(el.name || el.id);
  }
  const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
  for (const id of ids.filter((id, i) => ids.indexOf(id) !== i)) bad.push(`duplicate id ${id}`);
  return bad;
});

// checkPage runs the checks every page gets: no control without a label,
// no duplicate id, no serious or critical axe-core violation (each one
// found is printed); then, when name is given, a full-page screenshot
// shots/NAME.png.
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
export async function checkPage(page, name, shots) {
  const bad = await unlabelled(page);
  assert.deepEqual(bad, [], `controls without a label on ${name}`);
  await page.addScriptTag({ path: axePath });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  const grave = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of found) console.log(`axe on ${name}: ${v.impact} ${v.id} ${JSON.stringify(v.nodes)}`);
  assert.deepEqual(grave, [], `axe-core: serious or critical violations on ${name}`);
  if (name) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// browse runs body({ context, page, log }) in Chromium. log(step) names
// the step; when body throws, the step, the error and the page's text are
// printed, a screenshot goes to shots/../NAME-failure.png and the process
// exits 1. The browser and its profile are always removed.
export async function browse({ name, shots, viewport = { width: 1280, height: 900 }, bypassCSP = false }, body) {
  const profile = mkdtempSync(join(tmpdir(), `${name}-chromium-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport,
    locale: "en-US",
    bypassCSP,
    timeout: 60_000,
  });
  let step = "start";
  const log = (s) => { step = s; console.log(`step: ${s}`); };
  try {
    // Nothing leaves loopback.
    await context.route("**/*", (route) => {
      const u = new URL(route.request().url());
      return loopback(u) ? route.continue() : route.abort();
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(30_000);
    await body({ context, page, log });
  } catch (e) {
    console.error(`failed at step "${step}": ${e.stack || e}`);
    try {
      const p = context.pages()[0];
      if (p) {
        await p.screenshot({ path: join(shots, "..", `${name}-failure.png`), fullPage: true }).catch(() => {});
        console.error(`page: ${p.url()}\n${(await p.locator("main").innerText().catch(() => "")).slice(0, 3000)}`);
      }
    } catch { /* best effort */ }
    process.exitCode = 1;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
