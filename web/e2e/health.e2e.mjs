// The dashboard's health panel when the stream counted a conflicting duplicate (an event_id
// re-sent with other content; the test makes it through the API before this runs): the panel
// says so, marked, in English and Arabic, with screenshots at 1400 and 390 px.
// Inputs (environment): API_URL, API_KEY, OUT_DIR, CHROMIUM. Prints one JSON object on stdout.
import { inputs, signIn, sizes, withBrowser } from "./browser.mjs";

const { apiUrl, apiKey, outDir } = inputs();
const WIDE = { width: 1400, height: 1000 };
const PHONE = { width: 390, height: 844 };

/** What the panel shows: each count's text and whether it is marked, and the note under them. */
async function panel(page) {
  await page.waitForSelector('[data-testid="usage-health"]', { timeout: 20_000 });
  return page.getByTestId("usage-health").evaluate((el) => ({
    conflicts: el.dataset.conflicts,
    items: Object.fromEntries([...el.querySelectorAll("li")].map((li) => [li.dataset.kind, {
      count: li.dataset.count, text: li.textContent, marked: li.classList.contains("health__item--bad"),
      background: getComputedStyle(li).backgroundColor, color: getComputedStyle(li).color,
    }])),
    note: el.querySelector(".health__note")?.textContent ?? null,
    note_marked: el.querySelector(".health__note")?.classList.contains("health__note--bad") ?? false,
  }));
}

await withBrowser(async (page, consoleErrors) => {
  const result = {};
  await signIn(page, apiUrl, apiKey);
  result.en = await panel(page);
  await page.getByTestId("usage-health").scrollIntoViewIfNeeded();
  result.screenshot_panel_en = `${outDir}/health-conflict-en.png`;
  await page.getByTestId("usage-health").screenshot({ path: result.screenshot_panel_en });
  await sizes(page, outDir, "health-conflict-en", result, WIDE, PHONE);
  await page.getByTestId("language-toggle").click();
  await page.waitForFunction(() => document.documentElement.dir === "rtl");
  result.ar = await panel(page);
  result.screenshot_panel_ar = `${outDir}/health-conflict-ar.png`;
  await page.getByTestId("usage-health").screenshot({ path: result.screenshot_panel_ar });
  await sizes(page, outDir, "health-conflict-ar", result, WIDE, PHONE);
  result.console_errors = consoleErrors;
  return result;
}, WIDE);
