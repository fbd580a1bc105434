// Drives the usage view in headless Chromium against a fresh tenant (API_KEY), checking
// the honest-numbers and phone-width promises of the dashboard:
//   before the key and before the first event the charts show an empty state, not bare axes;
//   two sessions are started, found again with the session picker's search, and opened;
//   usage of sixteen models (one of them unknown to the catalog) is recorded from the page:
//   the unknown model's operation is marked unpriced with the tokens it used (tracker,
//   activity, service card, chart tooltip), never "$0.00", and the chart gives every model its
//   own colour; the statements' month is picked in Arabic words and digits;
//   the time range changes what the charts ask for; a report downloads as CSV;
//   ending the session flips the tracker to "Ended" by push (timed);
//   at 1400 and 390 px, in English and Arabic: screenshots, and nothing sticks out at either.
// Inputs (environment): API_URL, API_KEY, OUT_DIR, CHROMIUM. Prints one JSON object on stdout.
import { readFile } from "node:fs/promises";

import { inputs, signIn, sizes, withBrowser } from "./browser.mjs";

const { apiUrl, apiKey, outDir } = inputs();
const WIDE = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };
const UNKNOWN = "gemini-9-ultra";

// One event per model: fifteen the catalog prices and one it does not know.
const EVENTS = [
  ...["gemini-2.0-flash", "gemini-2.0-flash-lite", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", UNKNOWN]
    .map((model) => ({ service: "text", model, usage: { unit: "tokens", input_tokens: 1000, output_tokens: 200, thinking_tokens: 100 } })),
  ...["imagen-3.0-generate", "imagen-4.0-fast-generate", "imagen-4.0-generate", "imagen-4.0-ultra-generate"]
    .map((model) => ({ service: "image", model, usage: { unit: "images", images: 1 } })),
  ...["veo-2.0-generate", "veo-3.0-fast-generate", "veo-3.0-generate", "veo-3.1-fast-generate", "veo-3.1-generate"]
    .map((model) => ({ service: "video", model, usage: { unit: "video", seconds: "4" } })),
  { service: "speech", model: "cloud-tts-studio", usage: { unit: "characters", characters: 1000, voice_tier: "studio" } },
];

async function recordAll(page, sessionId) {
  return page.evaluate(async ({ sessionId, apiKey, events }) => {
    const response = await fetch("/v1/usage/batch", {
      method: "POST",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ events: events.map((e) => ({ ...e, session_id: sessionId })) }),
    });
    return response.json();
  }, { sessionId, apiKey, events: EVENTS });
}

/** What the page shows of unpriced usage, and every "$0.00" it shows anywhere. */
async function unpricedMarks(page) {
  return page.evaluate((unknown) => {
    const text = (el) => (el ? el.textContent.trim() : null);
    const row = document.querySelector('[data-testid="activity"] li[data-pricing="unpriced"]');
    const card = document.querySelector(`[data-testid="service-card-text"] li[data-model="${unknown}"]`);
    return {
      tracker_headline: text(document.querySelector('[data-testid="tracker-headline"]')),
      tracker_badge: text(document.querySelector('[data-testid="tracker-headline"] [data-testid="unpriced"]')),
      tracker_service_badge: text(document.querySelector('[data-testid="service-text"] [data-testid="unpriced"]')),
      activity_row: text(row),
      activity_badge_title: row?.querySelector('[data-testid="unpriced"]')?.title ?? null,
      // the text service's count and its cost (with the unpriced mark) side by side, never over each other
      service_overlap: (() => {
        const line = document.querySelector('[data-testid="service-text"]');
        const extent = (el) => { // where the text is drawn (a squeezed grid item's own box can be narrower)
          if (!el) return null;
          const range = document.createRange();
          range.selectNodeContents(el);
          return range.getBoundingClientRect();
        };
        const [a, b] = [".ms-tracker__ops", ".ms-tracker__money"].map((s) => extent(line?.querySelector(s)));
        return !a || !b ? null : a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      })(),
      service_card: text(card),
      service_card_badge: text(card?.querySelector('[data-testid="unpriced"]')),
      zero_dollars: [...document.querySelectorAll("body *")]
        .filter((el) => el.children.length === 0 && !el.closest("svg") && /\$0\.00(?!\d)/.test(el.textContent))
        .map((el) => el.textContent),
    };
  }, UNKNOWN);
}

await withBrowser(async (page, consoleErrors) => {
  const result = {};
  await page.goto(apiUrl);
  result.empty_before_key = {
    empty: await page.getByTestId("chart-empty").count(), axes: await page.locator(".recharts-surface").count(),
  };
  await signIn(page, apiUrl, apiKey);
  await page.waitForSelector('[data-testid="session-picker"]');
  await page.waitForSelector('[data-testid="chart-empty"]');
  result.empty_before_events = {
    empty: await page.getByTestId("chart-empty").count(), axes: await page.locator(".recharts-surface").count(),
  };

  // Two sessions; the picker finds the first again by a piece of its id.
  await page.getByTestId("start-session").click();
  const first = (await page.getByTestId("tracker-session-id").textContent()).trim();
  await page.getByTestId("start-session").click();
  await page.waitForFunction((first) =>
    document.querySelector('[data-testid="tracker-session-id"]')?.textContent.trim() !== first, first);
  const second = (await page.getByTestId("tracker-session-id").textContent()).trim();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="session-option"]').length >= 2);
  result.sessions_listed = await page.getByTestId("session-option").count();
  await page.getByTestId("session-search").fill(first.slice(-10));
  result.sessions_found = await page.getByTestId("session-option").evaluateAll((els) => els.map((el) => el.dataset.sessionId));
  await page.locator(`[data-testid="session-option"][data-session-id="${first}"]`).click();
  await page.waitForFunction((first) =>
    document.querySelector('[data-testid="tracker-session-id"]')?.textContent.trim() === first, first);
  result.picked = (await page.getByTestId("tracker-session-id").textContent()).trim();
  result.second = second;
  result.first = first;
  await page.getByTestId("session-search").fill("");

  // Sixteen models, one of them unknown.
  result.batch = await recordAll(page, first);
  await page.waitForSelector(`[data-testid="stat-operations"][data-value="${EVENTS.length}"]`, { timeout: 20_000 });
  await page.waitForSelector('[data-testid="activity"] li[data-pricing="unpriced"]', { timeout: 20_000 });
  await page.waitForSelector(`[data-testid="service-card-text"] li[data-model="${UNKNOWN}"] [data-testid="unpriced"]`,
                             { timeout: 20_000 });
  result.tokens = await page.getByTestId("stat-tokens").getAttribute("data-value");
  await page.waitForSelector('[data-testid="usage-health"] [data-kind="priced"][data-count="15"]', { timeout: 20_000 });
  result.health = await page.getByTestId("usage-health").evaluate((el) => ({
    conflicts: el.dataset.conflicts, text: el.textContent }));
  result.unpriced = await unpricedMarks(page);

  // Per model: sixteen series, each its own colour; the tooltip marks the unknown model.
  await page.getByTestId("split-model").click();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="chart-cost-over-time"]')?.dataset.series) >= n,
                             EVENTS.length);
  result.model_colors = await page.evaluate(() => {
    const bars = [...document.querySelectorAll('[data-testid="chart-cost-over-time"] .recharts-bar-rectangle path')];
    const legend = [...document.querySelectorAll('[data-testid="chart-legend"] li')].map((li) => li.dataset.color);
    return { legend, bars: [...new Set(bars.map((path) => path.getAttribute("fill")))] };
  });
  // One hour holds every bar: the middle of the plot is over it.
  const grid = page.locator('[data-testid="chart-cost-over-time"] .recharts-cartesian-grid');
  await grid.scrollIntoViewIfNeeded();
  const plot = await grid.boundingBox();
  await page.mouse.move(plot.x + plot.width / 2 - 20, plot.y + plot.height / 2);
  await page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height / 2, { steps: 5 });
  try {
    await page.waitForSelector('[data-testid="chart-tooltip"]', { timeout: 5000 });
  } catch (error) {
    await page.screenshot({ path: `${outDir}/usage-tooltip-missing.png`, fullPage: true });
    throw new Error(`no tooltip (${error}); the page logged: ${consoleErrors.join(" | ")}`);
  }
  result.screenshot_tooltip = `${outDir}/usage-tooltip-en.png`;
  await page.locator('[data-testid="chart-cost-over-time"]').screenshot({ path: result.screenshot_tooltip });
  result.tooltip = await page.evaluate(() => {
    const tip = document.querySelector('[data-testid="chart-tooltip"]');
    const legend = document.querySelector('[data-testid="chart-legend"]');
    const [a, b] = [tip.getBoundingClientRect(), legend.getBoundingClientRect()];
    const overlaps = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const covered = overlaps && Number(getComputedStyle(tip.parentElement).zIndex || 0)
      <= Number(getComputedStyle(legend).zIndex || 0);
    return { text: tip.textContent, unpriced: [...tip.querySelectorAll(".ms-unpriced")].map((el) => el.textContent), covered_by_legend: covered };
  });
  await page.mouse.move(0, 0);
  await sizes(page, outDir, "usage-view-models-en", result, WIDE, PHONE);

  // The time range: the charts ask again, by day.
  const seen = [];
  page.on("request", (r) => seen.push(r.url()));
  const asked = page.waitForRequest((r) => r.url().includes("/v1/reports/usage") && r.url().includes("group_by=day"),
                                    { timeout: 10_000 });
  await page.getByTestId("time-range").selectOption("7d");
  try {
    await asked;
  } catch (error) {
    throw new Error(`${error}: value ${await page.getByTestId("time-range").inputValue()}, requests ${seen.join(" ")}; ${consoleErrors}`);
  }
  await page.waitForSelector('[data-testid="chart-cost-over-time"] .recharts-bar-rectangle');
  result.range_heading = await page.locator('[data-testid="chart-cost-over-time"]').evaluate(
    (el) => el.closest(".panel").querySelector("h2").textContent);

  // A report as CSV.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-byService").click()]);
  result.csv_name = download.suggestedFilename();
  result.csv = await readFile(await download.path(), "utf8");

  // Ending the session: the tracker says so by push, timed in the page.
  await page.getByTestId("split-service").click();
  result.end_ms = await page.evaluate(async () => {
    const status = document.querySelector('[data-testid="tracker-status"]');
    const start = performance.now();
    const ended = new Promise((resolve, reject) => {
      const observer = new MutationObserver(() => {
        if (status.textContent === "Ended") { observer.disconnect(); resolve(performance.now()); }
      });
      observer.observe(status, { childList: true, characterData: true, subtree: true });
      setTimeout(() => reject(new Error("the tracker still says " + status.textContent)), 5000);
    });
    document.querySelector('[data-testid="end-session"]').click();
    return (await ended) - start;
  });
  await sizes(page, outDir, "usage-view-en", result, WIDE, PHONE);

  await page.getByTestId("language-toggle").click();
  await page.waitForFunction(() => document.documentElement.dir === "rtl");
  await page.waitForTimeout(300);
  result.unpriced_ar = await unpricedMarks(page);
  result.tracker_status_ar = await page.getByTestId("tracker-status").textContent();
  // The statements' month, in Arabic at a phone's width: the page's words and digits, the API's value.
  await page.setViewportSize(PHONE);
  const monthPicker = page.getByTestId("statements-month");
  await monthPicker.scrollIntoViewIfNeeded();
  result.statements_month_ar = await monthPicker.evaluate((el) => ({
    tag: el.tagName.toLowerCase(), value: el.value, shown: el.selectedOptions?.[0]?.textContent ?? null,
    options: [...(el.options ?? [])].map((o) => [o.value, o.textContent]),
    month_inputs: document.querySelectorAll('input[type="month"]').length,
  }));
  result.screenshot_statements_ar_phone = `${outDir}/statements-month-ar-390.png`;
  await page.locator('[data-testid="statements"]').screenshot({ path: result.screenshot_statements_ar_phone });
  const previous = result.statements_month_ar.options[1]?.[0];
  const askedMonth = page.waitForRequest((r) => r.url().includes("/v1/statements?"), { timeout: 10_000 });
  await monthPicker.selectOption(previous);
  await page.locator('[data-testid="statements"] button[type="submit"]').click();
  result.statements_asked_ar = new URL((await askedMonth).url()).searchParams.get("month");
  await page.setViewportSize(WIDE);
  await sizes(page, outDir, "usage-view-ar", result, WIDE, PHONE);
  result.console_errors = consoleErrors;
  return result;
}, WIDE);
