// A stand-in for an app that embeds the tracker in its end users' pages: it never holds the API
// key, only asks its backend (here the browser test, through window.mintToken) for portal tokens.
import { createRoot } from "react-dom/client";

import { UsageTracker } from "../../src/tracker";

declare global {
  interface Window { mintToken: () => Promise<string> }
}

const params = new URLSearchParams(location.hash.slice(1));
createRoot(document.getElementById("root")!).render(
  <UsageTracker sessionId={params.get("session") ?? ""} apiBaseUrl="" getToken={() => window.mintToken()} />,
);
