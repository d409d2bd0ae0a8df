// The automation editor and the approvals page in a real browser (run by
// hub/console/automation_browser_test.go against a console over a seeded
// state with rules and two drafts waiting). Every page: controls labelled,
// ids unique, and axe-core finds no serious or critical violation.
// Screenshots go to SCREENSHOTS.
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";
import { browse, env, loopback, checkPage as checkShared } from "./harness.mjs";

const hub = new URL(env("HUB_URL"));
const token = env("ADMIN_TOKEN");
const shots = env("SCREENSHOTS");
assert.ok(loopback(hub), `the browser test only targets loopback, not ${hub.host}`);
mkdirSync(shots, { recursive: true });

await browse({ name: "automation", shots, viewport: { width: 1440, height: 900 }, bypassCSP: true }, async ({ page, log }) => {
  const url = (p) => new URL(p, hub).toString();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  const checkPage = (name) => checkShared(page, name, shots);
  const ruleOrder = () => page.locator("table.rules tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.rule));

  log("sign in, then the automation page");
  await page.goto(url("/console/integrations/acme/automation"));
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Automation · acme", level: 1 }).waitFor();
  assert.deepEqual(await ruleOrder(), ["low", "praise"]);
  await checkPage("automation");

  log("a new rule with mistakes: each named beside its field, what was typed kept");
  await page.getByRole("link", { name: "New rule" }).click();
  await page.getByRole("heading", { name: "New rule", level: 1 }).waitFor();
  await page.getByLabel("Rule id").fill("Bad Id");
  await page.getByLabel("At least words").fill("many");
  await page.getByLabel("Languages").fill("en, klingon!");
  await page.getByLabel("Mentions any of").fill("crash\nкраш");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("alert").filter({ hasText: "Correct these fields" }).waitFor();
  await page.locator("#r-min_words-error").waitFor();
  assert.equal(await page.getByLabel("Rule id").inputValue(), "Bad Id");
  assert.equal(await page.getByLabel("Mentions any of").inputValue(), "crash\nкраш");
  await page.getByLabel("At least words").fill("");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator("#r-id-error").waitFor();
  await page.locator("#r-languages-error").waitFor();
  assert.equal(await page.getByLabel("Rule id").getAttribute("aria-invalid"), "true");
  await checkPage("automation-rule-errors");

  log("corrected, then tried on the last reviews");
  await page.getByLabel("Rule id").fill("sorry-low");
  await page.getByLabel("Languages").fill("");
  await page.getByLabel("Mentions any of").fill("");
  await page.getByLabel("2★").check();
  await page.getByLabel("3★").check();
  await page.getByLabel("Reply with template").selectOption("sorry");
  await page.getByLabel("Tags for the ticket").fill("low, sorry");
  await page.getByRole("button", { name: "Try on the last 100 reviews" }).click();
  await page.locator("#preview-count").filter({ hasText: "It matches 2 of the last 2 reviews." }).waitFor();
  await page.locator('.preview-rows tr[data-review="gp-2"]').getByText("Sorry, Иван.").waitFor();
  await page.locator('.preview-rows tr[data-review="gp-1"]').getByText("staff answered this review").waitFor();
  assert.equal(await page.getByLabel("Rule id").inputValue(), "sorry-low");
  await checkPage("automation-preview");

  log("saved, moved up, a rule switched off, another deleted after its question");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").filter({ hasText: "The rule is saved." }).waitFor();
  assert.deepEqual(await ruleOrder(), ["low", "praise", "sorry-low"]);
  await page.getByRole("button", { name: "Up sorry-low" }).click();
  await page.getByRole("status").filter({ hasText: "The rule is moved." }).waitFor();
  assert.deepEqual(await ruleOrder(), ["low", "sorry-low", "praise"]);
  await page.getByRole("button", { name: "Switch off low" }).click();
  await page.getByRole("status").filter({ hasText: "The rule is switched off." }).waitFor();
  await page.locator('tr[data-rule="low"]').getByText("off", { exact: true }).waitFor();
  await page.getByRole("link", { name: "Delete praise" }).click();
  await page.getByRole("heading", { name: "Delete rule praise", level: 1 }).waitFor();
  await page.getByRole("button", { name: "Delete rule praise" }).click();
  await page.getByRole("status").filter({ hasText: "The rule is deleted." }).waitFor();
  assert.deepEqual(await ruleOrder(), ["low", "sorry-low"]);
  await checkPage("automation-edited");

  log("the automation page in Russian");
  await page.getByRole("link", { name: "Русский" }).click();
  await page.getByRole("heading", { name: "Автоматизация · acme", level: 1 }).waitFor();
  await checkPage("automation-ru");
  await page.getByRole("link", { name: "English" }).click();

  log("the approvals page: drafts waiting, counted in the navigation");
  await page.getByRole("link", { name: /^Approvals/ }).click();
  await page.getByRole("heading", { name: "Approvals", level: 1 }).waitFor();
  assert.equal((await page.locator("#drafts-waiting").innerText()).trim().split(/\s/)[0], "2");
  assert.equal(await page.locator("article.draft").count(), 2);
  await checkPage("approvals");
  await page.getByRole("link", { name: "Русский" }).click();
  await page.getByRole("heading", { name: "Одобрения", level: 1 }).waitFor();
  await checkPage("approvals-ru");
  await page.getByRole("link", { name: "English" }).click();

  log("one draft edited, then approved; the other rejected");
  const draft = page.locator('article[data-message="rule:sorry:android:gp-2:1"]');
  await draft.getByLabel("Draft answer").fill("Sorry, Иван: the dark theme comes in 3.3.");
  await draft.getByRole("button", { name: "Approve gp-2" }).click();
  await page.getByRole("status").filter({ hasText: "The draft is approved" }).waitFor();
  assert.equal((await page.locator("#drafts-waiting").innerText()).trim().split(/\s/)[0], "1");
  await page.getByRole("button", { name: "Reject as-1" }).click();
  await page.getByRole("status").filter({ hasText: "The draft is rejected" }).waitFor();
  await page.getByText("No draft is waiting.").waitFor();
  assert.equal(await page.locator("#drafts-waiting").count(), 0);

  log("the review shows who approved its answer");
  await page.goto(url("/console/reviews/acme/android/gp-2"));
  await page.getByText("Sorry, Иван: the dark theme comes in 3.3.").first().waitFor();

  assert.deepEqual(pageErrors, [], "script errors on the pages");
  console.log("automation browser test: ok");
});
