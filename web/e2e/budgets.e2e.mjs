// Drives the Budgets & alerts view in headless Chromium, against a tenant that has one
// budget (BUDGET_ID, made through the API; tenant-wide, limit 0.10 USD, thresholds 50 and
// 100 %):
//   start a session (its tracker shows the budget left), open the view, record usage from
//   the page that crosses 50 %, and wait for the alert to be pushed into the feed (no
//   reload) and the card to show what was spent; screenshots at 1400 and 390 px, checking
//   nothing overflows at 390. The form: a limit the API refuses shows its error beside the
//   field; a valid budget is created, then deleted after confirming; the usage view at both
//   widths. Then the same in Arabic, crossing 100 %, and the tracker showing the budget spent.
// Inputs (environment): API_URL, API_KEY, BUDGET_ID, OUT_DIR, CHROMIUM. Prints one JSON
// object with what the page showed on stdout.
import { join } from "node:path";

import { inputs, signIn, sizes, withBrowser } from "./browser.mjs";

const { apiUrl, apiKey, outDir } = inputs();
const budgetId = process.env.BUDGET_ID;
if (!budgetId) throw new Error("set BUDGET_ID");
const WIDE = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };
const card = `[data-testid="budget-card"][data-budget-id="${budgetId}"]`;

/** Records `images` images of imagen-4.0-generate (0.04 USD each) in the session, from the page. */
async function record(page, sessionId, images) {
  await page.evaluate(async ({ sessionId, apiKey, images }) => {
    const response = await fetch("/v1/usage", {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        session_id: sessionId, service: "image", model: "imagen-4.0-generate", operation: "generate_images",
        usage: { unit: "images", images },
      }),
    });
    if (response.status !== 202) throw new Error(`recording failed: ${response.status} ${await response.text()}`);
  }, { sessionId, apiKey, images });
}

/** Waits for the alert pushed for the budget at `threshold` % and says what the feed shows of it. */
async function pushedAlert(page, threshold) {
  const selector = `[data-testid="alert"][data-arrived="push"][data-kind="budget.threshold"]`
    + `[data-budget-id="${budgetId}"][data-threshold="${threshold}"]`;
  await page.waitForSelector(selector, { timeout: 30_000 });
  return page.evaluate((selector) => {
    const li = document.querySelector(selector);
    return {
      alert_id: li.dataset.alertId, highlighted: li.classList.contains("alert--fresh"),
      text: li.textContent, feed: [...document.querySelectorAll('[data-testid="alert"]')].map((el) => el.dataset.alertId),
    };
  }, selector);
}

/** What the budget's card shows once its spent figure is other than `before` (the API's figures are in data attributes). */
async function cardShows(page, before) {
  await page.waitForFunction(({ card, before }) => {
    const el = document.querySelector(card);
    return el && el.dataset.spent !== before;
  }, { card, before }, { timeout: 30_000 });
  return page.evaluate((card) => {
    const el = document.querySelector(card);
    return {
      spent: el.dataset.spent, limit: el.dataset.limit, level: el.className,
      used: el.querySelector('[data-testid="budget-used"]').textContent,
      spent_text: el.querySelector('[data-testid="budget-spent"]').textContent,
      scope: el.querySelector('[data-testid="budget-scope"]').textContent,
    };
  }, card);
}

async function screenshots(page, name, result) {
  await sizes(page, outDir, name, result, WIDE, PHONE);
}

await withBrowser(async (page, consoleErrors) => {
  const result = {};
  await signIn(page, apiUrl, apiKey);
  await page.getByTestId("start-session").click();
  const sessionId = (await page.getByTestId("tracker-session-id").textContent()).trim();
  result.session_id = sessionId;
  await page.waitForSelector('[data-testid="tracker-budget"]');
  result.tracker_before = await page.getByTestId("tracker-budget").evaluate((el) => ({ ...el.dataset }));

  // English: the view, its live feed, then usage that crosses 50 %.
  await page.getByTestId("view-budgets").click();
  await page.waitForSelector(card);
  await page.waitForSelector('[data-testid="alerts-live"].live--on');
  result.card_before = await cardShows(page, null);
  await record(page, sessionId, 2); // 0.08 of 0.10
  result.alert_en = await pushedAlert(page, "50");
  result.card_en = await cardShows(page, "0");
  result.url_en = page.url();
  result.lang_en = await page.evaluate(() => document.documentElement.lang);
  await screenshots(page, "budgets-en", result);

  // The form, against the API's own checks.
  await page.getByTestId("budget-new").click();
  const form = page.getByTestId("budget-form");
  await form.locator('input[name="name"]').fill("e2e refused");
  await form.locator('input[name="limit"]').fill("-1");
  await page.getByTestId("budget-create").click();
  await page.waitForSelector('[data-field="limit"] [data-testid="error-limit"]');
  result.form_error_limit = await page.getByTestId("error-limit").textContent();
  await form.locator('select[name="kind"]').selectOption("user");
  await form.locator('input[name="value"]').fill("amira");
  await form.locator('input[name="model"]').fill("gemini-2.5-pro");
  await form.locator('input[name="limit"]').fill("25");
  await form.locator('input[name="name"]').fill("e2e amira");
  await page.getByTestId("budget-create").click();
  const created = page.locator('[data-testid="budget-card"]').filter({ hasText: "e2e amira" });
  await created.waitFor();
  result.form_created_scope = await created.getByTestId("budget-scope").textContent();
  await created.getByTestId("budget-delete").click();
  await created.getByTestId("budget-delete-confirm").click();
  await created.waitFor({ state: "detached" });
  result.form_deleted = true;
  await page.getByTestId("view-usage").click();
  await page.waitForSelector('[data-testid="tracker-budget"]');
  await screenshots(page, "usage-en", result);
  await page.getByTestId("view-budgets").click();
  await page.waitForSelector(card);

  // Arabic, right to left: usage that crosses 100 %, pushed again.
  await page.getByTestId("language-toggle").click();
  await page.waitForFunction(() => document.documentElement.dir === "rtl");
  await record(page, sessionId, 1); // 0.12 of 0.10
  result.alert_ar = await pushedAlert(page, "100");
  result.card_ar = await cardShows(page, result.card_en.spent);
  result.ar = await page.evaluate(() => ({
    dir: document.documentElement.dir, lang: document.documentElement.lang,
    body_dir: getComputedStyle(document.body).direction,
    heading: document.querySelector('[data-testid="alerts-panel"] h2').textContent,
  }));
  await screenshots(page, "budgets-ar", result);

  // The tracker, in Arabic on a phone: the budget is spent.
  await page.getByTestId("view-usage").click();
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="tracker-budget"]');
    return el && el.dataset.remaining.startsWith("-");
  }, null, { timeout: 30_000 });
  result.tracker_after = await page.getByTestId("tracker-budget").evaluate((el) => ({ ...el.dataset, text: el.textContent }));
  await screenshots(page, "usage-ar", result);

  result.console_errors = consoleErrors.filter((text) => !text.includes("status of 422"));
  result.expected_console_errors = consoleErrors.length - result.console_errors.length;
  return result;
});
