// The tracker embedded in another app's page with portal tokens, in headless Chromium:
// build e2e/embed (a page that renders <UsageTracker getToken=…/>), serve it at the API's
// origin through playwright's routing, let the page fetch its token from "its backend" (this
// script, which mints one with the API key), record usage and watch the tracker show it.
// Inputs: API_URL, API_KEY, SESSION_ID, OUT_DIR, CHROMIUM. Prints one JSON object.
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

import react from "@vitejs/plugin-react";
import { build } from "vite";

import { inputs, withBrowser } from "./browser.mjs";

const { apiUrl, apiKey, outDir } = inputs();
const sessionId = process.env.SESSION_ID;
const built = mkdtempSync(join(tmpdir(), "meterstream-embed-"));
await build({
  root: fileURLToPath(new URL("./embed", import.meta.url)), base: "/embed/", logLevel: "error",
  plugins: [react()], build: { outDir: built, emptyOutDir: true },
});

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
const headers = { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" };

await withBrowser(async (page, consoleErrors) => {
  const minted = [];
  const refused = [];
  page.on("response", (r) => r.status() >= 400 && refused.push(`${r.status()} ${r.url()}`));
  await page.route(`${apiUrl}/embed/**`, (route) => {
    const path = new URL(route.request().url()).pathname.replace(/^\/embed\/?/, "") || "index.html";
    route.fulfill({ body: readFileSync(join(built, path)), contentType: TYPES[extname(path)] ?? "application/octet-stream" });
  });
  // "The app's backend": mints a portal token for the session with the API key, which the page never sees.
  await page.exposeFunction("mintToken", async () => {
    const answer = await fetch(`${apiUrl}/v1/sessions/${sessionId}/tokens`, { method: "POST", headers, body: "{}" });
    const { token } = await answer.json();
    minted.push(token);
    return token;
  });
  await page.goto(`${apiUrl}/embed/index.html#session=${encodeURIComponent(sessionId)}`);
  await page.waitForSelector('[data-testid="stat-operations"][data-value="1"]', { timeout: 20000 });
  const usage = { session_id: sessionId, service: "image", model: "imagen-4.0-generate",
                  usage: { unit: "images", images: 2 } };
  await fetch(`${apiUrl}/v1/usage`, { method: "POST", headers, body: JSON.stringify(usage) });
  await page.waitForSelector('[data-testid="stat-operations"][data-value="2"]', { timeout: 20000 });
  await page.screenshot({ path: join(outDir, "tracker-embedded.png") });
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  return {
    operations: Number(await page.getByTestId("stat-operations").getAttribute("data-value")),
    tokens_minted: minted.length,
    token_prefixes: minted.map((t) => t.slice(0, 4)),
    api_key_in_page: (await page.content()).includes(apiKey) || storage.includes(apiKey),
    refused, console_errors: consoleErrors,
  };
});
