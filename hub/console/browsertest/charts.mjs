// The console's Charts page in a real browser (run by
// hub/console/charts_browser_test.go against a console over 90 days of
// seeded reviews and answers): the four charts with their names and
// descriptions, the periods, one integration and app, the table of the
// figures, the CSV download, Russian; the navigation's favicon. Every
// page: controls labelled, ids unique, no serious or critical axe-core
// violation. Screenshots go to SCREENSHOTS.
import { mkdirSync, readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { browse, env, loopback, checkPage as checkShared } from "./harness.mjs";

const hub = new URL(env("HUB_URL"));
const token = env("ADMIN_TOKEN");
const shots = env("SCREENSHOTS");
assert.ok(loopback(hub), `the browser test only targets loopback, not ${hub.host}`);
mkdirSync(shots, { recursive: true });

await browse({ name: "charts", shots, viewport: { width: 1280, height: 900 }, bypassCSP: true }, async ({ page, log }) => {
  const url = (p) => new URL(p, hub).toString();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  const checkPage = (name) => checkShared(page, name, shots);
  const charts = ["Reviews per day by rating", "Average rating", "Answered", "Time to first answer"];

  log("sign in, then the Charts page through the navigation");
  await page.goto(url("/console/integrations"));
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Integrations", level: 1 }).waitFor();
  const icon = await page.locator('link[rel="icon"]').getAttribute("href");
  const iconAnswer = await page.request.get(url(icon));
  assert.equal(iconAnswer.status(), 200, "the favicon is served");
  await page.getByRole("navigation").getByRole("link", { name: "Charts" }).click();
  await page.getByRole("heading", { name: "Charts", level: 1 }).waitFor();
  for (const name of charts) {
    await page.getByRole("img", { name, exact: true }).waitFor();
  }
  assert.equal(await page.locator("#chart-ratings rect").count() > 30, true, "bars of 30 days");
  assert.equal(await page.locator("#chart-average polyline").count() >= 1, true, "the average's line");
  await checkPage("charts");

  log("90 days");
  await page.getByRole("navigation", { name: "Period" }).getByRole("link", { name: "90 days" }).click();
  await page.waitForURL(/days=90/);
  assert.equal(await page.getByRole("link", { name: "90 days" }).getAttribute("aria-current"), "page");
  await page.locator("details.chart-table summary").click();
  assert.equal(await page.locator(".chart-table tbody tr").count(), 90);
  await checkPage("charts-90");

  log("one integration's app through the form");
  await page.getByRole("combobox", { name: "Integration" }).selectOption("acme");
  await page.getByRole("button", { name: "Show" }).click();
  await page.getByRole("combobox", { name: "App", exact: true }).selectOption("android");
  await page.getByRole("combobox", { name: "Period" }).selectOption("7");
  await page.getByRole("button", { name: "Show" }).click();
  await page.waitForURL(/app=android/);
  await page.getByRole("heading", { name: "Charts · acme · android", level: 1 }).waitFor();
  await checkPage("");

  log("the CSV download");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
  assert.match(download.suggestedFilename(), /^reviewhub-stats-acme-android-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
  const csv = readFileSync(await download.path(), "utf8");
  assert.ok(csv.startsWith("\ufeffday,reviews,stars_1"), "a BOM and the header");
  assert.equal(csv.trim().split("\r\n").length, 8, "a header and 7 days");

  log("Russian");
  await page.getByRole("link", { name: "Русский" }).click();
  await page.getByRole("heading", { name: "Графики · acme · android", level: 1 }).waitFor();
  for (const name of ["Отзывы по дням и оценкам", "Средняя оценка", "Отвечено", "Время до первого ответа"]) {
    await page.getByRole("img", { name, exact: true }).waitFor();
  }
  await page.goto(url("/console/charts?days=30"));
  await page.getByRole("heading", { name: "Графики", level: 1 }).waitFor();
  await checkPage("charts-ru");
  await page.goto(url("/console/lang?l=en&back=/console/charts"));

  assert.deepEqual(pageErrors, [], "script errors on the pages");
  console.log("charts browser test: ok");
});
