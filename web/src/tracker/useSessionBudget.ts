import { useEffect, useState } from "react";

import { ApiClient, type Budget } from "../api";
import { tightestBudget } from "../budgets/tightest";
import { HttpError } from "../sse";

/** Wait this long after a change of totals, so a burst of pushes costs one read. */
const SETTLE_MS = 250;

/**
 * The tightest budget that applies to the session (GET /v1/sessions/{id}/budgets), read
 * again each time `version` changes (the tracker passes its totals); null when none applies.
 */
export function useSessionBudget(apiBaseUrl: string, sessionId: string, apiKey: string | undefined,
                                 version: string): Budget | null {
  const [budget, setBudget] = useState<Budget | null>(null);

  useEffect(() => setBudget(null), [apiBaseUrl, sessionId, apiKey]);

  useEffect(() => {
    if (!sessionId) return;
    let cancelled = false;
    const timer = setTimeout(async () => {
      try {
        const budgets = await new ApiClient(apiBaseUrl, apiKey).sessionBudgets(sessionId);
        if (!cancelled) setBudget(tightestBudget(budgets));
      } catch (error) {
        // A session the API does not know (yet), or an API without budgets: nothing to show.
        // Any other failure keeps the last figure until the next change.
        if (!cancelled && error instanceof HttpError && error.status === 404) setBudget(null);
      }
    }, SETTLE_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [apiBaseUrl, sessionId, apiKey, version]);

  return budget;
}
