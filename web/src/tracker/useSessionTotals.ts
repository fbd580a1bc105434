import { useEffect, useRef, useState } from "react";

import type { Session, SessionStats } from "../api";
import { followEvents, HttpError } from "../sse";

export interface LiveTotals {
  totals: SessionStats | null;
  session: Session | null;
  /** When the last push arrived (browser clock). */
  updatedAt: Date | null;
  connected: boolean;
  error: string | null;
}

/** Asks the app's backend for a fresh portal token (it mints one with POST /v1/sessions/{id}/tokens). */
export type TokenSource = () => Promise<string>;

/**
 * The Authorization header of each connection: `bearer` (a portal token or an API key), or one
 * `getToken` fetches, fetched again after a 401 (the token expired), so the tracker keeps going.
 */
export function bearerHeaders(bearer: string | undefined, getToken?: TokenSource) {
  let token = bearer;
  return {
    headers: async (): Promise<Record<string, string>> => {
      if (!token && getToken) token = await getToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    failed: (error: unknown) => {
      if (getToken && error instanceof HttpError && error.status === 401) token = undefined;
    },
  };
}

/** The session's live totals, pushed by the API over server-sent events; reconnects on loss. */
export function useSessionTotals(apiBaseUrl: string, sessionId: string, apiKey?: string,
                                 getToken?: TokenSource): LiveTotals {
  const [state, setState] = useState<LiveTotals>({
    totals: null, session: null, updatedAt: null, connected: false, error: null,
  });

  // The latest getToken, so an inline function does not reconnect on every render.
  const tokenSource = useRef(getToken);
  tokenSource.current = getToken;
  const fetchesTokens = Boolean(getToken);

  useEffect(() => {
    setState({ totals: null, session: null, updatedAt: null, connected: false, error: null });
    if (!sessionId) return;
    const abort = new AbortController();
    const url = `${apiBaseUrl.replace(/\/$/, "")}/v1/sessions/${encodeURIComponent(sessionId)}/events`;
    const auth = bearerHeaders(apiKey, fetchesTokens ? () => tokenSource.current!() : undefined);

    followEvents(url, auth.headers, abort.signal, {
      onMessage: (message) => {
        if (message.event === "session") {
          setState((s) => ({ ...s, session: JSON.parse(message.data) as Session, connected: true, error: null }));
        } else if (message.event === "totals") {
          const totals = JSON.parse(message.data) as SessionStats;
          setState((s) => ({ ...s, totals, updatedAt: new Date(), connected: true, error: null }));
        }
      },
      onError: (error) => {
        auth.failed(error);
        setState((s) => ({ ...s, connected: false, error: String(error) }));
      },
    });
    return () => abort.abort();
  }, [apiBaseUrl, sessionId, apiKey, fetchesTokens]);

  return state;
}
