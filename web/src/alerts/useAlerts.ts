import { useEffect, useRef, useState } from "react";

import type { AlertRecord, ApiClient } from "../api";
import { followEvents } from "../sse";
import { mergeAlerts } from "./merge";

/** How long a pushed alert stays highlighted. */
export const HIGHLIGHT_MS = 6000;

export interface AlertFeed {
  /** The latest alerts, newest first. */
  alerts: AlertRecord[];
  /** Ids of the alerts pushed in the last HIGHLIGHT_MS. */
  fresh: ReadonlySet<string>;
  /** Ids of the alerts that arrived by push rather than in a list read. */
  pushed: ReadonlySet<string>;
  connected: boolean;
  error: string | null;
}

const EMPTY: AlertFeed = { alerts: [], fresh: new Set(), pushed: new Set(), connected: false, error: null };

/**
 * The tenant's alerts: the latest ones (GET /v1/alerts, read again on every reconnect for
 * what was missed), then each new one pushed by GET /v1/alerts/events. `onAlert` is called
 * for each pushed alert.
 */
export function useAlerts(api: ApiClient | null, onAlert?: (alert: AlertRecord) => void): AlertFeed {
  const [feed, setFeed] = useState<AlertFeed>(EMPTY);
  const onAlertRef = useRef(onAlert);
  onAlertRef.current = onAlert;

  useEffect(() => {
    setFeed(EMPTY);
    if (!api) return;
    const abort = new AbortController();
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const unhighlight = (id: string) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        setFeed((f) => ({ ...f, fresh: without(f.fresh, id) }));
      }, HIGHLIGHT_MS);
      timers.add(timer);
    };

    followEvents(api.url("/v1/alerts/events"), api.headers, abort.signal, {
      onOpen: () => {
        setFeed((f) => ({ ...f, connected: true, error: null }));
        api.alerts().then(
          (latest) => !abort.signal.aborted && setFeed((f) => ({ ...f, alerts: mergeAlerts(f.alerts, latest) })),
          (error) => !abort.signal.aborted && setFeed((f) => ({ ...f, error: String(error) })),
        );
      },
      onMessage: (message) => {
        if (message.event !== "alert") return;
        const alert = JSON.parse(message.data) as AlertRecord;
        setFeed((f) => ({
          ...f,
          alerts: mergeAlerts(f.alerts, [alert]),
          fresh: new Set(f.fresh).add(alert.alert_id),
          pushed: new Set(f.pushed).add(alert.alert_id),
        }));
        unhighlight(alert.alert_id);
        onAlertRef.current?.(alert);
      },
      onError: (error) => setFeed((f) => ({ ...f, connected: false, error: String(error) })),
    });
    return () => {
      abort.abort();
      timers.forEach(clearTimeout);
    };
  }, [api]);

  return feed;
}

function without(ids: ReadonlySet<string>, id: string): Set<string> {
  const rest = new Set(ids);
  rest.delete(id);
  return rest;
}
