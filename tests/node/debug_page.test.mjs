// The debug page in Debian's Chromium, driven by playwright-core (no downloaded browser):
// it loads from the server alone, connects as a dev principal, subscribes, publishes the
// event's example through the form and sees the envelope arrive; an invalid payload shows
// its pointer both from the page's own check and from the server's 422. Screenshots of
// both themes go to SCREENSHOT_DIR.
//
// CABLEWAY_URL is a server started with --dev; tests/tests/debug_page.rs starts it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { args, executablePath } from "./chromium.mjs";

const base = process.env.CABLEWAY_URL;
const shots = process.env.SCREENSHOT_DIR;

test("the debug page subscribes, publishes through the form and shows what arrives", { timeout: 120_000 }, async () => {
  assert.ok(base, "CABLEWAY_URL is set");
  const profile = mkdtempSync(join(tmpdir(), "cableway-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args, viewport: { width: 1480, height: 940 }, colorScheme: "light" });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const origin = new URL(base).origin;
    const foreign = [];
    const problems = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith("ws://" + new URL(base).host)) foreign.push(r.url());
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().includes("422")) problems.push(`console: ${m.text()}`);
    });

    await page.goto(base + "/");
    await page.locator('[data-channel="NotificationChannel"]').waitFor();
    assert.equal(await page.locator(".channel-item").count(), 22, "every channel of the compiled schema is listed");
    await page.locator("h1", { hasText: "NotificationChannel" }).waitFor();

    // Connect as the dev principal (the page mints the token in --dev), then subscribe.
    await page.locator("#connect-button").click();
    await page.locator("#connection-status", { hasText: "connected as dev-user" }).waitFor();
    await page.locator("#subscribe-button:not([disabled])").click();
    await page.locator('.sub-confirmed[data-identifier*="NotificationChannel"]').waitFor();
    await page.locator('#envelopes .frame[data-event="connection_established"]').waitFor();

    // The form holds the event's example, aimed at the subscription: it validates in the page.
    await page.locator("#publish-event").selectOption("new_notification");
    await page.locator("#local-issues", { hasText: "✓ valid" }).waitFor();
    const example = JSON.parse(await page.locator("#publish-payload").inputValue());
    assert.equal(example.account_id, "dev-account", "the example reaches the dev principal's notifications");
    await page.locator("#publish-button").click();
    await page.locator("#publish-result", { hasText: "200" }).waitFor();
    await page.locator("#publish-result", { hasText: "1 delivery" }).waitFor();
    const arrived = page.locator('#envelopes .frame[data-event="new_notification"]');
    await arrived.waitFor();
    assert.match(await arrived.first().innerText(), /notifications:dev-account#\d+/, "the frame shows its stream and offset");
    await page.locator('[data-figure="deliveries"] .figure-value').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-figure="subscriptions"] .figure-value')?.textContent === "1");
    await page.locator('[data-channel="NotificationChannel"] .live-count', { hasText: "1" }).waitFor();
    await page.locator("details.fold summary", { hasText: "new_notification" }).first().click();
    if (shots) await page.screenshot({ path: join(shots, "debug-page.png") });

    // An invalid payload: the page names the pointer, and so does the server's 422.
    const invalid = { ...example };
    delete invalid.title;
    invalid.severity = "loud";
    await page.locator("#publish-payload").fill(JSON.stringify(invalid, null, 2));
    await page.locator("#local-issues", { hasText: "/payload/title" }).waitFor();
    assert.match(await page.locator("#local-issues").innerText(), /\/payload\/severity/);
    assert.equal((await page.locator("#publish-button").innerText()).trim(), "Publish anyway");
    await page.locator("#publish-button").click();
    await page.locator("#publish-result", { hasText: "422" }).waitFor();
    const server = page.locator("#publish-result .violations-server");
    await server.waitFor();
    assert.match(await server.innerText(), /\/payload\/title\s+required property is missing/);
    assert.match(await server.innerText(), /\/payload\/severity/);
    assert.equal(await page.locator('#envelopes .frame[data-event="new_notification"]').count(), 1, "nothing more was delivered");

    // The other theme, for a look.
    await page.locator(".topbar .icon-button").click();
    await page.waitForFunction(() => document.documentElement.dataset.theme === "dark");
    if (shots) await page.screenshot({ path: join(shots, "debug-page-dark.png") });

    assert.deepEqual(foreign, [], "everything comes from the server itself");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
