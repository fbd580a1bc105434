import { useEffect, useState } from "react";

import type { Session, SessionStats } from "../api";
import { followEvents } from "../sse";

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

    followEvents(url, headers, abort.signal, {
      onMessage: (message) => {
        if (message.event === "session") {
          setState((s) => ({ ...s, session: JSON.parse(message.data) as Session, connected: true, error: null }));
        } else if (message.event === "totals") {
          const totals = JSON.parse(message.data) as SessionStats;
          setState((s) => ({ ...s, totals, updatedAt: new Date(), connected: true, error: null }));
        }
      },
      onError: (error) => setState((s) => ({ ...s, connected: false, error: String(error) })),
    });
    return () => abort.abort();
  }, [apiBaseUrl, sessionId, apiKey]);

  return state;
}
