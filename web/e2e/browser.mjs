// What the browser tests share: Debian's headless Chromium through playwright-core, with a
// fresh profile each run, and the page's console errors collected.
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { chromium } from "playwright-core";

/** API_URL, API_KEY and OUT_DIR from the environment; fails when the first two are missing. */
export function inputs() {
  const apiUrl = process.env.API_URL;
  const apiKey = process.env.API_KEY;
  const outDir = process.env.OUT_DIR ?? "test-output/dashboard";
  if (!apiUrl || !apiKey) throw new Error("set API_URL and API_KEY");
  mkdirSync(outDir, { recursive: true });
  return { apiUrl, apiKey, outDir };
}

/** Runs `drive(page, consoleErrors)` in a fresh headless Chromium, then prints its result as one JSON line. */
export async function withBrowser(drive, viewport = { width: 1360, height: 1000 }) {
  // A fresh profile each run (playwright passes it to Chromium as --user-data-dir).
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "meterstream-chromium-")), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  let result;
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors = [];
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    page.on("pageerror", (error) => consoleErrors.push(`uncaught: ${error.stack ?? error}`)); // a render that threw
    result = await drive(page, consoleErrors);
  } finally {
    await context.close();
  }
  console.log(JSON.stringify(result));
}

/** Opens the dashboard and saves the API key in it. */
export async function signIn(page, apiUrl, apiKey) {
  await page.goto(apiUrl);
  await page.getByTestId("api-key").fill(apiKey);
  await page.getByTestId("save-key").click();
}

/** The page's width against the window's, and the elements that stick out of it (tables scroll inside their panel). */
export async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const outside = [...document.querySelectorAll("body *")]
      .filter((el) => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5) && !el.closest(".table-wrap");
      })
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
    return { scroll_width: document.documentElement.scrollWidth, client_width: width, outside };
  });
}

/**
 * Full-page screenshots at `wide` and `phone` sizes into `outDir`, the overflow at both
 * (`overflow_<name>_wide`, and `overflow_<name>` at the phone's); back to `wide` after.
 */
export async function sizes(page, outDir, name, result, wide, phone) {
  await page.setViewportSize(wide);
  await page.waitForTimeout(200); // charts re-measure
  result[`overflow_${name}_wide`] = await overflow(page);
  result[`screenshot_${name}_wide`] = join(outDir, `${name}-${wide.width}.png`);
  await page.screenshot({ path: result[`screenshot_${name}_wide`], fullPage: true });
  await page.setViewportSize(phone);
  await page.waitForTimeout(200); // charts re-measure
  result[`overflow_${name}`] = await overflow(page);
  result[`screenshot_${name}_phone`] = join(outDir, `${name}-${phone.width}.png`);
  await page.screenshot({ path: result[`screenshot_${name}_phone`], fullPage: true });
  await page.setViewportSize(wide);
}
