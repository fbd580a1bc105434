import { useEffect, useState } from "react";

import type { Session, SessionStats } from "../api";
import { streamEvents } from "../sse";

export interface LiveTotals {
  totals: SessionStats | null;
  session: Session | null;
  /** When the last push arrived (browser clock). */
  updatedAt: Date | null;
  connected: boolean;
  error: string | null;
}

/** The session's live totals, pushed by the API over server-sent events; reconnects on loss. */
export function useSessionTotals(apiBaseUrl: string, sessionId: string, apiKey?: string): LiveTotals {
  const [state, setState] = useState<LiveTotals>({
    totals: null, session: null, updatedAt: null, connected: false, error: null,
  });

  useEffect(() => {
    setState({ totals: null, session: null, updatedAt: null, connected: false, error: null });
    if (!sessionId) return;
    const abort = new AbortController();
    const url = `${apiBaseUrl.replace(/\/$/, "")}/v1/sessions/${encodeURIComponent(sessionId)}/events`;
    const headers: Record<string, string> = apiKey ? { Authorization: `Bearer ${apiKey}` } : {};

    (async () => {
      let delay = 500;
      while (!abort.signal.aborted) {
        try {
          await streamEvents(url, headers, abort.signal, (message) => {
            delay = 500;
            if (message.event === "session") {
              setState((s) => ({ ...s, session: JSON.parse(message.data) as Session, connected: true, error: null }));
            } else if (message.event === "totals") {
              const totals = JSON.parse(message.data) as SessionStats;
              setState((s) => ({ ...s, totals, updatedAt: new Date(), connected: true, error: null }));
            }
          });
        } catch (error) {
          if (abort.signal.aborted) return;
          setState((s) => ({ ...s, connected: false, error: String(error) }));
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    })();
    return () => abort.abort();
  }, [apiBaseUrl, sessionId, apiKey]);

  return state;
}
