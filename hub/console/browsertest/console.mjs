// The console in a real browser: playwright-core driving the system's
// Chromium, headless, against a hub on loopback (started by
// hub/console/browser_test.go, which passes everything in the environment).
// Each step asserts what the page shows; screenshots go to SCREENSHOTS.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { browse, env, loopback, unlabelled } from "./harness.mjs";

const hub = new URL(env("HUB_URL"));
const token = env("ADMIN_TOKEN");
const shots = env("SCREENSHOTS");
const helpdesk = JSON.parse(env("HELPDESK_SETTINGS"));
const store = JSON.parse(env("STORE_SETTINGS"));
const storeAppID = env("STORE_APP_ID");
const wrongChannel = env("WRONG_CHANNEL");
const deadLetters = Number(env("DEAD_LETTERS"));

assert.ok(loopback(hub), `the browser test only targets loopback, not ${hub.host}`);
mkdirSync(shots, { recursive: true });

await browse({ name: "console", shots, viewport: { width: 1280, height: 900 } }, async ({ context, page, log }) => {
  const url = (p) => new URL(p, hub).toString();
  // Every page shot is also checked: each form control has a label, ids are unique.
  const shot = async (name) => {
    assert.deepEqual(await unlabelled(page), [], `controls without a label on ${name}`);
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // Refused posts (401, 422) are logged by Chromium as failed loads: expected.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });

  log("without a session only the sign-in page is served");
  await page.goto(url("/console/integrations"));
  assert.match(new URL(page.url()).pathname, /^\/console\/signin$/);
  await shot("signin");

  log("a wrong token is refused");
  await page.getByLabel("Admin token").fill("not-the-admin-token-at-all");
  const refused = page.waitForResponse((r) => r.url().endsWith("/console/signin") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Sign in" }).click();
  assert.equal((await refused).status(), 401);
  await page.getByRole("alert").filter({ hasText: "That is not the admin token." }).waitFor();
  await shot("signin-refused");
  const direct = await context.request.get(url("/console/integrations"), { maxRedirects: 0 });
  assert.equal(direct.status(), 303, "still no session after a wrong token");

  log("sign in");
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Integrations", level: 1 }).waitFor();
  const cookies = await context.cookies(url("/console/"));
  const session = cookies.find((c) => c.name === "rh_session");
  assert.ok(session, "a session cookie");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Lax"); // Strict would not be sent when an OIDC sign-in lands (a cross-site redirect chain)

  log("a form post without the CSRF token is refused");
  const forged = await context.request.post(url("/console/integrations/new"), {
    form: { id: "forged", name: "forged", action: "save" }, maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /missing CSRF token/);
  const forgedWrong = await context.request.post(url("/console/integrations/new"), {
    form: { id: "forged", csrf: "guessed", action: "save" }, maxRedirects: 0,
  });
  assert.equal(forgedWrong.status(), 403);

  log("new integration, saved half done");
  await page.getByRole("link", { name: "New integration" }).click();
  await page.getByLabel(/^Integration id/).fill("acme");
  await page.getByLabel(/^Name/).first().fill("ACME support");
  await page.getByLabel("Helpdesk", { exact: true }).selectOption("omnidesk");
  await page.locator('[name="h.omnidesk.subdomain"]').fill(helpdesk.subdomain);
  await page.locator('[name="h.omnidesk.staff_email"]').fill(helpdesk.staff_email);
  await page.locator('[name="h.omnidesk.base_url"]').fill(helpdesk.base_url);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.waitForURL(/\/console\/integrations\/acme\?saved=1$/);
  const status = page.locator("#save-status");
  await status.getByText("Saved.").waitFor();
  await status.getByText("Still needed:").waitFor();
  for (const needed of ["Apps"]) await status.getByText(needed, { exact: false }).first().waitFor();
  assert.ok(await page.locator('label[for="f-h-omnidesk-api_key"] .badge').isVisible(), "the API key is marked as needed");
  await shot("form-partial");

  log("add an app; a wrong backfill is refused next to its field");
  await page.getByRole("button", { name: "Add an app" }).click();
  await page.getByText("A new app is added to the form").waitFor();
  await page.locator('[name="apps[0].id"]').fill("android");
  await page.locator('[name="apps[0].name"]').fill("ACME for Android");
  await page.locator('[name="apps[0].store"]').selectOption("googleplay");
  await page.locator('[name="apps[0].store_app_id"]').fill(storeAppID);
  await page.locator('[name="apps[0].filters.backfill"]').fill("500");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const backfill = page.locator('[name="apps[0].filters.backfill"]');
  await page.locator("#f-apps-0-filters-backfill-error").getByText("500 is outside 0..100").waitFor();
  assert.equal(await backfill.getAttribute("aria-invalid"), "true");
  assert.match(await backfill.getAttribute("aria-describedby"), /f-apps-0-filters-backfill-error/);
  await page.locator("#error-summary").waitFor();
  assert.equal(await page.locator("#error-summary").evaluate((e) => e === document.activeElement), true, "focus on the error summary");
  await shot("form-error");

  log("complete it (with a typo in the channel)");
  await backfill.fill("20");
  await page.locator('[name="apps[0].filters.ratings"][value="1"]').check();
  await page.locator('[name="apps[0].filters.ratings"][value="2"]').check();
  await page.locator('[name="apps[0].filters.ratings"][value="3"]').check();
  assert.ok(await page.locator('[name="apps[0].filters.languages"]').isVisible(), "Google Play filters by language");
  assert.ok(!(await page.locator('[name="apps[0].filters.countries"]').isVisible()), "Google Play has no countries");
  for (const [k, v] of Object.entries(store)) await page.locator(`[name="apps[0].s.googleplay.${k}"]`).fill(v);
  for (const [k, v] of Object.entries(helpdesk)) {
    await page.locator(`[name="h.omnidesk.${k}"]`).fill(k === "channel" ? wrongChannel : v);
  }
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.waitForURL(/\?saved=1$/);
  await page.locator("#save-status").getByText("Complete: every app is running.").waitFor();
  await page.locator('label[for="f-h-omnidesk-api_key"] + p, #f-h-omnidesk-api_key-wrap').first().waitFor({ state: "attached" });
  assert.ok(await page.getByText("stored ✓").first().isVisible(), "secrets show as stored");
  assert.equal(await page.locator('[name="h.omnidesk.api_key"]').isVisible(), false, "a stored secret is closed until Replace");
  const webhook = await page.locator("#webhook-url").inputValue();
  assert.equal(webhook, new URL("/hooks/omnidesk/acme", hub).toString());
  await page.getByRole("button", { name: "Copy" }).waitFor();
  await shot("form-complete");

  log("check connection shows the channel typo");
  await page.getByRole("button", { name: "Check connection" }).click();
  await page.getByRole("heading", { name: /Connection check acme/ }).waitFor();
  await page.getByText(`custom channel "${wrongChannel}" does not exist`).waitFor();
  await page.getByText("Some checks failed.").waitFor();
  await shot("check");

  log("the typo's reviews end in the dead letters");
  await page.getByRole("link", { name: "Dead letters" }).click();
  let rows = 0;
  for (let i = 0; i < 120; i++) {
    rows = await page.locator("table.deadletters tbody tr").count();
    if (rows >= deadLetters) break;
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.equal(rows, deadLetters, "one dead letter per review the filters let through");
  await page.locator("table.deadletters").getByText("channel").first().waitFor();
  await shot("deadletters");

  log("fix the channel, retry all dead letters but the last, drop that one");
  await page.goto(url("/console/integrations/acme"));
  await page.locator('[name="h.omnidesk.channel"]').fill(helpdesk.channel);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.waitForURL(/\?saved=1$/);
  await page.getByRole("link", { name: "Dead letters" }).click();
  const dlRows = page.locator("table.deadletters tbody tr");
  while (await dlRows.count() > 1) {
    const id = await dlRows.first().getAttribute("data-id");
    await page.getByRole("button", { name: `Retry ${id}` }).click();
    await page.getByRole("status").getByText(`Dead letter ${id} is queued again.`).waitFor();
    console.log(`retried: ${id}`);
  }
  const last = await dlRows.first().getAttribute("data-id");
  await page.getByRole("button", { name: `Drop ${last}` }).click();
  // A drop asks first, showing what would go.
  await page.getByRole("heading", { name: "Drop dead letters?", level: 1 }).waitFor();
  assert.equal(await page.locator(`table.deadletters tbody tr[data-id="${last}"]`).count(), 1, "the confirmation names the letter");
  await shot("deadletters-confirm");
  await page.getByRole("button", { name: "Drop 1 for good" }).click();
  await page.getByRole("status").getByText(`Dead letter ${last} is dropped.`).waitFor();
  await page.getByText("No dead letters.").waitFor();

  log("the reviews arrive in the status view");
  await page.goto(url("/console/integrations/acme/status"));
  let delivered = 0;
  for (let i = 0; i < 120; i++) {
    const cell = page.locator('[data-app="android"] tr[data-counter="reviews_delivered"] td.num');
    if (await cell.count()) delivered = Number(await cell.innerText());
    if (delivered >= 2) break;
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.ok(delivered >= 2, `reviews delivered: ${delivered}`);
  await page.locator('[data-app="android"]').getByText("reviews delivered as tickets").waitFor();
  await shot("status");

  log("the integrations list shows it working");
  await page.getByRole("link", { name: "Integrations" }).click();
  await page.locator("table.list").getByText("ACME support").waitFor();
  await shot("integrations");

  log("Russian, switched by the link");
  await page.goto(url("/console/integrations/acme/status"));
  await page.getByRole("link", { name: "Русский" }).click();
  await page.getByRole("heading", { name: /Статус acme/ }).waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "ru");
  await shot("status-ru");
  await page.goto(url("/console/integrations/acme"));
  await shot("form-ru");
  await page.getByRole("link", { name: "English" }).click();
  await page.getByRole("heading", { name: /Integration acme/ }).waitFor();

  log("a personal token: made and shown once, signs in to the API with its role, revoked");
  await page.getByRole("link", { name: "Tokens" }).click();
  await page.getByRole("heading", { name: "Personal API tokens" }).waitFor();
  await page.getByLabel("Name (who or what uses it)").fill("support laptop");
  await page.getByLabel(/agent: also/).check();
  await page.getByLabel(/^Expires/).fill("720h");
  await page.getByRole("button", { name: "Make token" }).click();
  await page.getByText("Token made. Copy it now").waitFor();
  const made = await page.locator("#new-token").innerText();
  assert.match(made, /^rhp_[0-9a-f]+_[0-9a-f]{64}$/);
  await shot("tokens");
  const api = (t, method = "GET", path = "/api/integrations") =>
    context.request.fetch(url(path), { method, headers: { Authorization: `Bearer ${t}` }, maxRedirects: 0 });
  assert.equal((await api(made)).status(), 200, "the agent token reads");
  assert.equal((await api(made, "DELETE", "/api/integrations/acme")).status(), 403, "the agent token cannot delete");
  await page.goto(url("/console/tokens"));
  assert.equal(await page.locator("#new-token").count(), 0, "the token is shown once");
  assert.ok(!(await page.content()).includes(made), "the list never shows the token");
  await page.getByRole("button", { name: "Revoke support laptop" }).click();
  await page.getByText(/is revoked/).waitFor();
  assert.equal((await api(made)).status(), 401, "a revoked token is refused at once");

  log("the audit log lists the sign-ins, changes and the token, never its value");
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  for (const kind of ["signin", "integration", "deadletter", "token"]) {
    assert.ok(await page.locator(`tr[data-kind="${kind}"]`).count() > 0, `an audit entry of kind ${kind}`);
  }
  assert.ok(!(await page.content()).includes(made), "the audit page never shows the token");
  await page.getByLabel("Kind").selectOption("token");
  await page.getByRole("button", { name: "Filter" }).click();
  assert.equal(await page.locator('tr[data-kind="signin"]').count(), 0, "filtered by kind");
  await shot("audit");

  log("webhooks");
  await page.getByRole("link", { name: "Webhooks", exact: true }).click();
  await page.getByRole("heading", { name: "Outbound webhooks" }).waitFor();
  await shot("webhooks");

  log("keyboard: skip link first, then the navigation");
  await page.goto(url("/console/integrations"));
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to content");

  log("sign out");
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.getByText("You are signed out.").waitFor();
  await page.goto(url("/console/deadletters"));
  assert.match(new URL(page.url()).pathname, /^\/console\/signin$/);
  const after = await context.request.get(url("/console/integrations"), { maxRedirects: 0 });
  assert.equal(after.status(), 303, "the session is gone");

  assert.deepEqual(pageErrors, [], "no script errors in the pages");
  console.log("browser test passed");
});
