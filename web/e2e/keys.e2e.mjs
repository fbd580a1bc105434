// Drives the API keys view in headless Chromium, signed in with API_KEY:
//   open the view (the dashboard's own key is listed and marked), ask for a key with 0 days
//   (the API's error shows beside the field), create "e2e laptop" for 30 days: its full key is
//   shown once with a warning and a copy button; screenshots at 1400 and 390 px (overflow at
//   both); "I have stored it" takes it off the page; revoke it after confirming. Then in
//   Arabic (right to left): create a key for ٩٠ days, screenshots, store, revoke.
// Inputs (environment): API_URL, API_KEY, OUT_DIR, CHROMIUM. Prints one JSON object.
import { inputs, signIn, sizes, withBrowser } from "./browser.mjs";

const { apiUrl, apiKey, outDir } = inputs();
const WIDE = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };
const row = (keyId) => `[data-testid="key"][data-key-id="${keyId}"]`;


/** What the list shows: per key its id, state, whether it is marked as this dashboard's, and its dates. */
function listed(page) {
  return page.evaluate(() => [...document.querySelectorAll('[data-testid="key"]')].map((el) => ({
    key_id: el.dataset.keyId, status: el.dataset.status, current: el.dataset.current === "true",
    status_text: el.querySelector('[data-testid="key-status"]').textContent,
    current_text: el.querySelector('[data-testid="key-current"]')?.textContent ?? null,
    expiry: el.querySelector('[data-testid="key-expiry"]').textContent,
    revoked: el.querySelector('[data-testid="key-revoked"]')?.textContent ?? null,
    dates: el.querySelector('[data-testid="key-dates"]').textContent,
  })));
}

/** Creates a key from the form; returns what the page showed of it, the key still on screen. */
async function create(page, name, days) {
  const form = page.getByTestId("key-form");
  await form.locator('input[name="name"]').fill(name);
  await form.locator('input[name="days"]').fill(days);
  await page.getByTestId("key-create").click();
  await page.waitForSelector('[data-testid="key-secret"]');
  const keyId = await page.getByTestId("key-secret-box").getAttribute("data-key-id");
  await page.waitForSelector(row(keyId)); // the list was read again
  return {
    key_id: keyId,
    secret: (await page.getByTestId("key-secret").textContent()).trim(),
    warning: await page.getByTestId("key-secret-warning").textContent(),
    title: await page.locator('[data-testid="key-secret-box"] h3').textContent(),
  };
}

/** Copies the shown key with the button; what the clipboard then holds. */
async function copy(page) {
  await page.getByTestId("key-copy").click();
  await page.waitForSelector('[data-testid="key-copy"][data-copied="copied"]');
  return {
    button: await page.getByTestId("key-copy").textContent(),
    clipboard: await page.evaluate(() => navigator.clipboard.readText()),
  };
}

/** "I have stored it": whether the key is then anywhere on the page. */
async function store(page, secret) {
  await page.getByTestId("key-done").click();
  await page.waitForSelector('[data-testid="key-form"]');
  return page.evaluate((secret) => document.documentElement.outerHTML.includes(secret), secret);
}

async function revoke(page, keyId) {
  await page.locator(row(keyId)).getByTestId("key-revoke").click();
  const confirmation = await page.locator(row(keyId)).locator('[role="alert"]').textContent();
  await page.locator(row(keyId)).getByTestId("key-revoke-confirm").click();
  await page.waitForSelector(`${row(keyId)}[data-status="revoked"]`);
  return confirmation;
}

await withBrowser(async (page, consoleErrors) => {
  const result = {};
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: apiUrl });
  await signIn(page, apiUrl, apiKey);
  await page.getByTestId("view-keys").click();
  await page.waitForSelector('[data-testid="key"][data-current="true"]');
  result.url = page.url();
  result.list_before = await listed(page);

  // English: the API's check beside the field, then a key for 30 days, shown once.
  await page.getByTestId("key-form").locator('input[name="name"]').fill("e2e refused");
  await page.getByTestId("key-form").locator('input[name="days"]').fill("0");
  await page.getByTestId("key-create").click();
  await page.waitForSelector('[data-field="days"] [data-testid="key-error-days"]');
  result.error_days = await page.getByTestId("key-error-days").textContent();
  result.en = await create(page, "e2e laptop", "30");
  result.en.copy = await copy(page);
  result.en.list = await listed(page);
  await sizes(page, outDir, "keys-en", result, WIDE, PHONE);
  result.en.still_on_page = await store(page, result.en.secret);
  result.en.confirmation = await revoke(page, result.en.key_id);
  result.en.list_after = await listed(page);

  // Arabic, right to left: a key for ٩٠ days.
  await page.getByTestId("language-toggle").click();
  await page.waitForFunction(() => document.documentElement.dir === "rtl");
  result.ar = await create(page, "مفتاح تجريبي", "٩٠");
  result.ar.list = await listed(page);
  result.ar.heading = await page.locator('[data-testid="keys"] h2').textContent();
  result.ar.dir = await page.evaluate(() => document.documentElement.dir);
  await sizes(page, outDir, "keys-ar", result, WIDE, PHONE);
  result.ar.still_on_page = await store(page, result.ar.secret);
  result.ar.confirmation = await revoke(page, result.ar.key_id);
  result.ar.list_after = await listed(page);

  result.console_errors = consoleErrors.filter((text) => !text.includes("status of 422"));
  result.expected_console_errors = consoleErrors.length - result.console_errors.length;
  return result;
});
