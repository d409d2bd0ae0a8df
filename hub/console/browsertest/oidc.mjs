// OIDC sign-in in a real browser: playwright-core driving the system's
// Chromium against a hub on loopback configured with the project's test
// issuer (both started by hub/console/browser_oidc_test.go). The button
// goes through the issuer and back; the console shows who is signed in and
// with which role. Screenshots go to SCREENSHOTS.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { browse, env, loopback } from "./harness.mjs";

const hub = new URL(env("HUB_URL"));
const issuer = new URL(env("ISSUER_URL"));
const shots = env("SCREENSHOTS");
const button = env("BUTTON");
const email = env("USER_EMAIL");
const role = env("USER_ROLE");

assert.ok(loopback(hub) && loopback(issuer), "the browser test only targets loopback");
mkdirSync(shots, { recursive: true });

await browse({ name: "console-oidc", shots, viewport: { width: 1280, height: 720 } }, async ({ context, page, log }) => {
  const url = (p) => new URL(p, hub).toString();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));

  log("the sign-in page offers the issuer's button beside the admin token");
  await page.goto(url("/console/deadletters"));
  assert.match(new URL(page.url()).pathname, /^\/console\/signin$/);
  const link = page.getByRole("link", { name: button });
  await link.waitFor();
  await page.getByLabel("Admin token").waitFor();
  await page.screenshot({ path: join(shots, "signin-oidc.png"), fullPage: true });

  log(`click "${button}": through the issuer and back`);
  await link.click();
  await page.waitForURL((u) => u.pathname === "/console/deadletters");
  const authorize = requested.find((v) => v.startsWith(`${issuer.origin}/authorize?`));
  assert.ok(authorize, `the browser went to the issuer: ${requested.join(" ")}`);
  assert.equal(new URL(authorize).searchParams.get("code_challenge_method"), "S256");

  log("signed in with the mapped role");
  assert.equal(await page.locator("#signed-in-name").textContent(), email);
  assert.equal(await page.locator("#signed-in-role").textContent(), role);
  const session = (await context.cookies(url("/console/"))).find((c) => c.name === "rh_session");
  assert.ok(session && session.httpOnly && session.sameSite === "Lax", `session cookie ${JSON.stringify(session)}`);
  assert.ok(!(await context.cookies(url("/console/oidc/acme/callback"))).some((c) => c.name === "rh_oidc"), "the flow's cookie is cleared");
  await page.screenshot({ path: join(shots, "signed-in-oidc.png"), fullPage: true });

  log("sign out everywhere");
  await page.getByRole("button", { name: "Sign out everywhere" }).click();
  await page.getByText("You are signed out.").waitFor();
  const after = await context.request.get(url("/console/integrations"), { maxRedirects: 0 });
  assert.equal(after.status(), 303, "the session is gone");

  assert.deepEqual(pageErrors, [], "no script errors in the pages");
  console.log("browser test passed");
});
