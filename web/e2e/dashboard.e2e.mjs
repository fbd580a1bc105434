// Drives the dashboard in Debian's headless Chromium with playwright-core:
//   enter the API key, start a session, record usage through the API from the page and
//   time each push (event recorded -> tracker shows the new operation count), switch to
//   Arabic and check the page is right to left, save a screenshot of each language,
//   reload and check the last active session is restored.
// Inputs (environment): API_URL, API_KEY, OUT_DIR, EVENTS (default 5), CHROMIUM (default
// /usr/bin/chromium). Prints one JSON object with the results on stdout.
import { join } from "node:path";

import { inputs, signIn, withBrowser } from "./browser.mjs";

const { apiUrl, apiKey, outDir } = inputs();
const events = Number(process.env.EVENTS ?? 5);
const waitMs = Number(process.env.PUSH_WAIT_MS ?? 10000);

await withBrowser(async (page, consoleErrors) => {
  const result = {};
  await signIn(page, apiUrl, apiKey);
  await page.getByTestId("start-session").click();
  const sessionId = (await page.getByTestId("tracker-session-id").textContent()).trim();
  await page.waitForSelector('[data-testid="stat-operations"][data-value="0"]');
  await page.waitForSelector('[data-testid="tracker-status"]:has-text("Active")');
  result.session_id = sessionId;

  // Each event is recorded from inside the page, and the page's own clock times the
  // moment the tracker's operation count shows it: one clock for both ends.
  const latencies = [];
  const acceptedAfter = []; // how long the POST itself took (Kafka acknowledged the event)
  for (let n = 1; n <= events; n++) {
    const latency = await page.evaluate(async ({ sessionId, apiKey, n, waitMs }) => {
      const card = document.querySelector('[data-testid="stat-operations"]');
      const shown = new Promise((resolve, reject) => {
        const observer = new MutationObserver(() => {
          if (card.getAttribute("data-value") === String(n)) {
            observer.disconnect();
            resolve(performance.now());
          }
        });
        observer.observe(card, { attributes: true, attributeFilter: ["data-value"] });
        setTimeout(() => reject(new Error(`operation ${n} not shown within ${waitMs} ms`)), waitMs);
      });
      const start = performance.now();
      const response = await fetch("/v1/usage", {
        method: "POST",
        headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          session_id: sessionId, service: "image", model: "imagen-4.0-generate", operation: "generate_images",
          usage: { unit: "images", images: 1 },
        }),
      });
      if (response.status !== 202) throw new Error(`recording failed: ${response.status} ${await response.text()}`);
      const accepted = performance.now();
      return { push: (await shown) - start, accepted: accepted - start };
    }, { sessionId, apiKey, n, waitMs });
    latencies.push(latency.push);
    acceptedAfter.push(latency.accepted);
  }
  result.latencies_ms = latencies;
  result.accepted_ms = acceptedAfter;
  result.tracker_cost = await page.getByTestId("stat-cost").getAttribute("data-value");
  result.tracker_operations = Number(await page.getByTestId("stat-operations").getAttribute("data-value"));
  result.tracker_headline = (await page.getByTestId("tracker-headline").textContent()).trim();

  await page.waitForSelector('[data-testid="activity"] li');
  await page.waitForSelector('[data-testid="chart-cost-over-time"] .recharts-bar-rectangle');
  result.screenshot_en = join(outDir, "dashboard-en.png");
  await page.screenshot({ path: result.screenshot_en, fullPage: true });

  await page.getByTestId("language-toggle").click();
  await page.waitForFunction(() => document.documentElement.dir === "rtl");
  result.ar = await page.evaluate(() => ({
    dir: document.documentElement.dir,
    lang: document.documentElement.lang,
    tracker_dir: getComputedStyle(document.querySelector('[data-testid="usage-tracker"]')).direction,
    body_dir: getComputedStyle(document.body).direction,
    tracker_title: document.querySelector(".ms-tracker__title").textContent,
  }));
  result.screenshot_ar = join(outDir, "dashboard-ar.png");
  await page.screenshot({ path: result.screenshot_ar, fullPage: true });

  await page.reload();
  await page.waitForSelector('[data-testid="tracker-session-id"]');
  result.restored_session_id = (await page.getByTestId("tracker-session-id").textContent()).trim();
  result.restored_dir = await page.evaluate(() => document.documentElement.dir);
  result.console_errors = consoleErrors;
  return result;
});
