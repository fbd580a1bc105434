// The embeddable usage tracker: <UsageTracker sessionId="…" apiBaseUrl="…" token="mpt_…" />
// (a portal token minted by the app's backend: POST /v1/sessions/{id}/tokens)
export { UsageTracker, type UsageTrackerProps } from "./UsageTracker";
export { bearerHeaders, useSessionTotals, type LiveTotals, type TokenSource } from "./useSessionTotals";
export { useSessionBudget } from "./useSessionBudget";
export type { Budget, SessionStats, Session } from "../api";
export type { Locale } from "../i18n";
