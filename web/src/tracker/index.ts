// The embeddable usage tracker: <UsageTracker sessionId="…" apiBaseUrl="…" apiKey="…" />
export { UsageTracker, type UsageTrackerProps } from "./UsageTracker";
export { useSessionTotals, type LiveTotals } from "./useSessionTotals";
export { useSessionBudget } from "./useSessionBudget";
export type { Budget, SessionStats, Session } from "../api";
export type { Locale } from "../i18n";
