// The console's Reviews pages in a real browser (run by
// hub/console/reviews_browser_test.go against a console over a seeded
// state): the list, searches in Chinese and Japanese through the search
// box, one review's page, Russian. Every page: controls labelled, ids
// unique, and axe-core finds no serious or critical violation.
// Screenshots go to SCREENSHOTS.
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";
import { browse, env, loopback, checkPage as checkShared } from "./harness.mjs";

const hub = new URL(env("HUB_URL"));
const token = env("ADMIN_TOKEN");
const shots = env("SCREENSHOTS");
assert.ok(loopback(hub), `the browser test only targets loopback, not ${hub.host}`);
mkdirSync(shots, { recursive: true });

await browse({ name: "reviews", shots, viewport: { width: 1440, height: 900 }, bypassCSP: true }, async ({ context, page, log }) => {
  const url = (p) => new URL(p, hub).toString();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  const checkPage = (name) => checkShared(page, name, shots);
  const rows = () => page.locator("table.reviews tbody tr");

  log("sign in, then the Reviews page");
  await page.goto(url("/console/reviews"));
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Reviews", level: 1 }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/console/reviews");
  assert.equal(await rows().count(), 4);
  // The table uses the page's width.
  const widths = await page.evaluate(() => ({ table: document.querySelector("table.reviews").getBoundingClientRect().width, view: window.innerWidth }));
  assert.ok(widths.table > widths.view * 0.9, `the table is ${widths.table}px of ${widths.view}px`);
  await checkPage("reviews");

  log("search one Chinese character through the search box");
  const search = page.getByRole("searchbox", { name: "Search" });
  await search.fill("崩");
  await search.press("Enter");
  await page.waitForURL(/q=%E5%B4%A9/);
  assert.equal(await rows().count(), 1);
  await page.locator('tr[data-review="as-2"]').waitFor();
  await checkPage("reviews-search-zh");

  log("a Japanese search with a rating filter");
  await search.fill("起動");
  await page.getByLabel("3★").check();
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/rating=3/);
  assert.equal(await rows().count(), 1);
  await page.locator('tr[data-review="gp-1"]').waitFor();
  await checkPage("reviews-search-ja");

  log("a wrong date is named");
  await page.goto(url("/console/reviews?from=2026-12-01&until=2026-11-01"));
  await page.getByRole("alert").filter({ hasText: "Some filters are not valid" }).waitFor();
  await page.getByRole("link", { name: "until" }).waitFor();

  log("one review: versions and the answers' timelines");
  await page.goto(url("/console/reviews?q=" + encodeURIComponent("起動")));
  await page.getByRole("link", { name: "Details gp-1" }).click();
  await page.getByRole("heading", { name: "Review gp-1", level: 1 }).waitFor();
  assert.equal(await page.locator("table.versions tbody tr").count(), 2);
  await page.getByText("approved by Anna").waitFor();
  await page.getByText("rule sorry").first().waitFor();
  await checkPage("review");

  log("Russian");
  await page.getByRole("link", { name: "Русский" }).click();
  await page.getByRole("heading", { name: "Отзыв gp-1", level: 1 }).waitFor();
  await page.getByText("одобрил(а) Anna").waitFor();
  await checkPage("review-ru");
  await page.goto(url("/console/reviews"));
  await page.getByRole("heading", { name: "Отзывы", level: 1 }).waitFor();
  await checkPage("reviews-ru");
  await page.goto(url("/console/lang?l=en&back=/console/reviews"));

  assert.deepEqual(pageErrors, [], "script errors on the pages");
  console.log("reviews browser test: ok");
});
