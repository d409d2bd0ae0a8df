// The console's history page in a real browser (run by
// hub/console/history_browser_test.go against a console whose imports are
// simulated): an import that stopped with its resume button, a new import
// started with the form and its progress updating while the page
// refreshes itself, Russian. Every page: controls labelled, ids unique,
// and axe-core finds no serious or critical violation. Screenshots go to
// SCREENSHOTS.
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";
import { browse, env, loopback, checkPage as checkShared } from "./harness.mjs";

const hub = new URL(env("HUB_URL"));
const token = env("ADMIN_TOKEN");
const shots = env("SCREENSHOTS");
assert.ok(loopback(hub), `the browser test only targets loopback, not ${hub.host}`);
mkdirSync(shots, { recursive: true });

await browse({ name: "history", shots, viewport: { width: 1440, height: 900 }, bypassCSP: true }, async ({ page, log }) => {
  const url = (p) => new URL(p, hub).toString();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  const checkPage = (name) => checkShared(page, name, shots);
  const path = "/console/integrations/acme/apps/gp/history";
  const imported = (range) => page.locator(`tr[data-range="${range}"] td[data-field="imported"]`);

  log("sign in, then the app's history page");
  await page.goto(url(path));
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "History of Acme Android", level: 1 }).waitFor();
  assert.equal(await page.locator('tr[data-state="stopped"]').count(), 1);
  await page.getByRole("button", { name: "Resume 2026-06-01 – 2026-07-01" }).waitFor();

  log("start an import with the form");
  await page.getByLabel("From (day, UTC)").fill("2026-09-01");
  await page.getByLabel("To (day, UTC, not included)").fill("2026-10-01");
  await page.getByRole("button", { name: "Start import" }).click();
  await page.getByText("The import from 2026-09-01 to 2026-10-01 is started").waitFor();
  const range = "2026-09-01/2026-10-01";
  const first = Number(await imported(range).textContent());
  assert.ok(first > 0, `imported ${first}`);
  assert.ok(await page.locator("#auto-refresh").isChecked(), "the page refreshes itself after a start");
  // Paused while the page is checked (a refresh would cut axe short).
  await page.getByLabel("Refresh every 5 seconds").uncheck();
  await checkPage("history");

  log("its progress updates while the page refreshes itself");
  const loaded = page.waitForEvent("load", { timeout: 20000 });
  await page.getByLabel("Refresh every 5 seconds").check();
  await loaded;
  // Each self-refresh is a page load: read the row after each one.
  let last = first;
  let state = "";
  for (let loads = 0; ; loads++) {
    assert.ok(loads < 10, `the import did not finish after ${loads} refreshes (imported ${last})`);
    const row = page.locator(`tr[data-range="${range}"]`);
    const now = Number(await imported(range).textContent());
    assert.ok(now >= last, `imported went back from ${last} to ${now}`);
    last = now;
    state = await row.getAttribute("data-state");
    if (state === "finished") break;
    await page.waitForEvent("load", { timeout: 20000 });
  }
  assert.ok(last > first, `imported stayed at ${first}`);
  assert.equal(await imported(range).textContent(), "2500");

  log("Russian");
  await page.goto(url(`/console/lang?l=ru&back=${path}`));
  await page.getByRole("heading", { name: "История: Acme Android", level: 1 }).waitFor();
  await page.getByRole("button", { name: "Продолжить 2026-06-01 – 2026-07-01" }).waitFor();
  await checkPage("history-ru");
  await page.goto(url(`/console/lang?l=en&back=${path}`));

  assert.deepEqual(pageErrors, [], "script errors on the pages");
  console.log("history browser test: ok");
});
