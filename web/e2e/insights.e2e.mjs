// Drives the Insights view in headless Chromium, against a tenant whose last 30 days hold
// Veo 3 and Gemini 2.5 Pro usage and a spend anomaly (recorded through the API by the test):
// open the view, wait for the recommendations, the forecast and the charts, read what they
// show, download the top sessions and the distributions as CSV, take screenshots at 1400 and
// 390 px and check that nothing overflows at either; then the same in Arabic (right to left).
// Inputs (environment): API_URL, API_KEY, OUT_DIR, CHROMIUM. Prints one JSON object.
import { readFile } from "node:fs/promises";

import { inputs, signIn, sizes, withBrowser } from "./browser.mjs";

const { apiUrl, apiKey, outDir } = inputs();
const WIDE = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };


async function shows(page) {
  await page.waitForSelector('[data-testid="recommendation"]', { timeout: 30_000 });
  await page.waitForSelector('[data-testid="anomaly"]', { timeout: 30_000 });
  await page.waitForSelector('[data-testid="chart-insights-comparison"] svg');
  await page.waitForSelector('[data-testid="chart-distributions"] svg');
  await page.waitForSelector('[data-testid="chart-savings"] svg');
  return page.evaluate(() => ({
    dir: document.documentElement.dir,
    lang: document.documentElement.lang,
    heading: document.querySelector('[data-testid="insights-recommendations"] h2').textContent,
    recommendations: [...document.querySelectorAll('[data-testid="recommendation"]')].map((el) => ({
      rule: el.dataset.rule, saving: el.querySelector('[data-testid="recommendation-saving"]').textContent,
      text: el.textContent,
    })),
    anomalies: [...document.querySelectorAll('[data-testid="anomaly"]')].map((el) => el.textContent),
    forecast: document.querySelector('[data-testid="forecast-total"]').textContent,
    top_sessions: document.querySelector('[data-testid="insights-top-sessions"]').textContent,
  }));
}

await withBrowser(async (page, consoleErrors) => {
  const result = {};
  await signIn(page, apiUrl, apiKey);
  await page.getByTestId("view-insights").click();
  result.en = await shows(page);
  result.url = page.url();
  // The tables as CSV files, as the API writes them.
  for (const name of ["insights-top-sessions", "insights-distributions"]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId(`download-${name}`).click()]);
    result[`csv_${name}`] = { name: download.suggestedFilename(), text: await readFile(await download.path(), "utf8") };
  }
  await sizes(page, outDir, "insights-en", result, WIDE, PHONE); // screenshots and overflow at both widths
  await page.getByTestId("language-toggle").click();
  await page.waitForFunction(() => document.documentElement.dir === "rtl");
  result.ar = await shows(page);
  await sizes(page, outDir, "insights-ar", result, WIDE, PHONE);
  result.console_errors = consoleErrors;
  return result;
});
