// The alert feed: one entry per alert_id (the pipeline may raise an alert again after a
// replay, and a reconnect re-reads the latest ones), newest first.
import type { AlertRecord } from "../api";

export const FEED_SIZE = 50;

export function mergeAlerts(current: AlertRecord[], incoming: AlertRecord[], max = FEED_SIZE): AlertRecord[] {
  const byId = new Map<string, AlertRecord>();
  for (const alert of [...current, ...incoming]) byId.set(alert.alert_id, alert);
  return [...byId.values()]
    .sort((a, b) => Date.parse(b.raised_at) - Date.parse(a.raised_at) || a.alert_id.localeCompare(b.alert_id))
    .slice(0, max);
}
