import { useCallback, useEffect, useMemo, useState } from "react";

import { useAlerts } from "./alerts/useAlerts";
import { ApiClient, reportPath, type Operation, type Pricing, type UsageHealth, type UsageReport } from "./api";
import { Activity } from "./components/Activity";
import { AlertsFeed } from "./components/Alerts";
import { BudgetsPanel } from "./components/Budgets";
import { PriceList, ServiceCards } from "./components/Catalog";
import { CostOverTime, PeriodComparison, type Bucket } from "./components/Charts";
import { HealthPanel } from "./components/Health";
import { SessionPicker } from "./components/Sessions";
import { InsightsPage } from "./components/Insights";
import { KeysPanel } from "./components/Keys";
import { Statements } from "./components/Statements";
import { direction, translator, type Locale } from "./i18n";
import { UsageTracker } from "./tracker";

// What the browser remembers, as the original app did: the last active session, the
// language and the API key (this browser's own; never sent anywhere but the API).
const STORAGE = {
  session: "meterstream.activeSessionId", locale: "meterstream.locale", key: "meterstream.apiKey",
  range: "meterstream.range",
};

// The time range of the charts and reports: its length, and the bucket its charts count by.
const RANGES = { "24h": { hours: 24, bucket: "hour" }, "7d": { hours: 24 * 7, bucket: "day" },
  "30d": { hours: 24 * 30, bucket: "day" } } as const satisfies Record<string, { hours: number; bucket: Bucket }>;
type Range = keyof typeof RANGES;
const rangeOf = (value: string | null): Range => (value && value in RANGES ? (value as Range) : "24h");

// Four views, named in the address (#budgets, #insights, #keys) so a link or a reload opens the same one.
const VIEWS = ["usage", "budgets", "insights", "keys"] as const;
type View = (typeof VIEWS)[number];
const viewOf = (hash: string): View => VIEWS.find((name) => name !== "usage" && hash === `#${name}`) ?? "usage";
const VIEW_LABELS = { usage: "viewUsage", budgets: "viewBudgets", insights: "viewInsights", keys: "viewKeys" } as const;

interface Reports {
  byServiceModel: UsageReport | null;
  overTimeByService: UsageReport | null;
  overTimeByModel: UsageReport | null;
  byService: UsageReport | null;
  end: Date;
  bucket: Bucket; // what the reports were asked by (the range may have changed since)
}

// Each report the page shows, as GET /v1/reports/usage groups it (and downloads it as CSV).
const groupings = (bucket: Bucket) => ({
  byServiceModel: ["service", "model"], overTimeByService: [bucket, "service"], overTimeByModel: [bucket, "model"],
  byService: ["service"],
});

export function App() {
  const [locale, setLocale] = useState<Locale>(() => (localStorage.getItem(STORAGE.locale) as Locale) || "en");
  const [apiKey, setApiKey] = useState(() => localStorage.getItem(STORAGE.key) ?? "");
  const [keyDraft, setKeyDraft] = useState(apiKey);
  const [sessionId, setSessionId] = useState(() => localStorage.getItem(STORAGE.session) ?? "");
  const [sessionsVersion, setSessionsVersion] = useState(0); // a session started or ended: read the list again
  const [range, setRange] = useState<Range>(() => rangeOf(localStorage.getItem(STORAGE.range)));
  const [pricing, setPricing] = useState<Pricing | null>(null);
  const [activity, setActivity] = useState<Operation[]>([]);
  const [health, setHealth] = useState<UsageHealth | null>(null);
  const [reports, setReports] = useState<Reports>({
    byServiceModel: null, overTimeByService: null, overTimeByModel: null, byService: null, end: new Date(),
    bucket: "hour",
  });
  const [error, setError] = useState<string | null>(null);
  const [view, setView] = useState<View>(() => viewOf(location.hash));
  const [alertsSeen, setAlertsSeen] = useState(0); // alerts pushed, to re-read budgets
  const [unread, setUnread] = useState(0); // alerts pushed while the usage view was open
  const t = translator(locale);
  const api = useMemo(() => new ApiClient("", apiKey || undefined), [apiKey]);
  const alerts = useAlerts(apiKey ? api : null, () => {
    setAlertsSeen((n) => n + 1);
    if (viewOf(location.hash) !== "budgets") setUnread((n) => n + 1);
  });

  useEffect(() => {
    const onHash = () => setView(viewOf(location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  function openView(next: View) {
    history.replaceState(null, "", next === "usage" ? location.pathname + location.search : `#${next}`);
    setView(next);
    if (next === "budgets") setUnread(0);
  }

  useEffect(() => {
    document.documentElement.lang = locale;
    document.documentElement.dir = direction(locale);
    localStorage.setItem(STORAGE.locale, locale);
  }, [locale]);

  useEffect(() => {
    if (sessionId) localStorage.setItem(STORAGE.session, sessionId);
    else localStorage.removeItem(STORAGE.session);
  }, [sessionId]);

  useEffect(() => localStorage.setItem(STORAGE.range, range), [range]);

  const { hours, bucket } = RANGES[range];
  const refresh = useCallback(async () => {
    if (!apiKey) return;
    try {
      const end = new Date();
      const group = groupings(bucket);
      const [prices, recent, byServiceModel, overTimeByService, overTimeByModel, byService] = await Promise.all([
        api.pricing(), api.activity(15), api.report(group.byServiceModel, hours, end),
        api.report(group.overTimeByService, hours, end), api.report(group.overTimeByModel, hours, end),
        api.report(group.byService, hours, end),
      ]);
      setPricing(prices);
      setActivity(recent);
      // From the worker, which may be away while ClickHouse answers: the rest stays shown.
      api.usageHealth().then(setHealth, () => setHealth(null));
      setReports({ byServiceModel, overTimeByService, overTimeByModel, byService, end, bucket });
      setError(null);
    } catch (e) {
      setError(String(e));
    }
  }, [api, apiKey, hours, bucket]);

  /** The report behind a panel, over the range shown, as a CSV file. */
  async function downloadReport(name: keyof ReturnType<typeof groupings>) {
    const groupBy = groupings(reports.bucket)[name];
    try {
      await api.download(reportPath(groupBy, hours, reports.end, "csv"), `usage-${groupBy.join("-")}-${range}.csv`);
    } catch (e) {
      setError(String(e));
    }
  }

  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 10_000);
    return () => clearInterval(timer);
  }, [refresh]);

  // Activity and charts come from ClickHouse, a moment after the live totals: refresh
  // shortly after each push.
  const onTotals = useCallback(() => {
    const timer = setTimeout(refresh, 1500);
    return () => clearTimeout(timer);
  }, [refresh]);

  async function startSession() {
    try {
      setSessionId((await api.startSession()).session_id);
      setSessionsVersion((n) => n + 1);
    } catch (e) {
      setError(String(e));
    }
  }

  // The tracker learns of the end from its event stream (the API pushes the session again).
  async function endSession() {
    if (!sessionId) return;
    try {
      await api.endSession(sessionId);
      setSessionsVersion((n) => n + 1);
    } catch (e) {
      setError(String(e));
    }
  }

  const download = (name: keyof ReturnType<typeof groupings>) => apiKey && (
    <button type="button" className="chip panel__download" data-testid={`download-${name}`}
            onClick={() => downloadReport(name)}>{t("downloadCsv")}</button>
  );

  return (
    <div className="page">
      <header className="topbar">
        <div>
          <h1>{t("title")}</h1>
          <p className="muted">{t("subtitle")}</p>
        </div>
        <form className="keyform" onSubmit={(e) => {
          e.preventDefault();
          localStorage.setItem(STORAGE.key, keyDraft.trim());
          setApiKey(keyDraft.trim());
        }}>
          <label>
            <span className="sr-only">{t("apiKey")}</span>
            <input type="password" placeholder={t("apiKey")} value={keyDraft} data-testid="api-key"
                   onChange={(e) => setKeyDraft(e.target.value)} autoComplete="off" dir="ltr" />
          </label>
          <button type="submit" data-testid="save-key">{t("save")}</button>
        </form>
        <button type="button" className="lang" data-testid="language-toggle"
                onClick={() => setLocale(locale === "en" ? "ar" : "en")}>
          {t("language")}
        </button>
      </header>

      {!apiKey && <p className="notice">{t("keyNeeded")}</p>}
      {error && <p className="notice notice--error">{t("error")}: {error}</p>}

      <nav className="views" role="tablist" aria-label={t("views")}>
        {VIEWS.map((name) => (
          <button key={name} type="button" role="tab" aria-selected={view === name} data-testid={`view-${name}`}
                  className={view === name ? "views__tab views__tab--on" : "views__tab"} onClick={() => openView(name)}>
            {t(VIEW_LABELS[name])}
            {name === "budgets" && unread > 0 && <span className="views__unread" data-testid="alerts-unread">{unread}</span>}
          </button>
        ))}
      </nav>

      {view === "insights" ? (
        apiKey ? <InsightsPage api={api} locale={locale} t={t} refreshKey={alertsSeen} /> : null
      ) : view === "keys" ? (
        apiKey ? <KeysPanel api={api} locale={locale} t={t} /> : null
      ) : view === "budgets" ? (
        <main className="grid grid--budgets">
          <div className="col">
            {apiKey && <BudgetsPanel api={api} locale={locale} t={t} refreshKey={alertsSeen} />}
          </div>
          <div className="col">
            <AlertsFeed feed={alerts} locale={locale} t={t} />
          </div>
        </main>
      ) : (
        <>
          <section className="sessionbar">
            <button type="button" onClick={startSession} disabled={!apiKey} data-testid="start-session">
              {t("startSession")}
            </button>
            <button type="button" onClick={endSession} disabled={!apiKey || !sessionId} className="secondary"
                    data-testid="end-session">
              {t("endSession")}
            </button>
            <label className="range">
              <span>{t("timeRange")}</span>
              <select value={range} onChange={(e) => setRange(rangeOf(e.target.value))} data-testid="time-range">
                {(Object.keys(RANGES) as Range[]).map((name) => <option key={name} value={name}>{t(`range.${name}`)}</option>)}
              </select>
            </label>
          </section>

          <main className="grid">
            <div className="col">
              {apiKey && (
                <section className="panel">
                  <h2>{t("sessions")}</h2>
                  <SessionPicker api={api} selected={sessionId} onSelect={setSessionId} refreshKey={sessionsVersion}
                                 locale={locale} t={t} />
                </section>
              )}
              {apiKey && sessionId && (
                <UsageTracker sessionId={sessionId} apiBaseUrl="" apiKey={apiKey} locale={locale} onTotals={onTotals} />
              )}
              <section className="panel">
                <h2>{t("recentActivity")}</h2>
                <Activity operations={activity} locale={locale} t={t} />
              </section>
              {apiKey && health && (
                <section className="panel">
                  <h2>{t("health")}</h2>
                  <HealthPanel health={health} locale={locale} t={t} />
                </section>
              )}
              {apiKey && (
                <section className="panel">
                  <h2>{t("statements")}</h2>
                  <Statements api={api} locale={locale} t={t} />
                </section>
              )}
            </div>
            <div className="col">
              <section className="panel">
                <div className="panel__head"><h2>{t("services")}</h2>{download("byServiceModel")}</div>
                {pricing && <ServiceCards pricing={pricing} usage={reports.byServiceModel?.current.rows ?? []}
                                          locale={locale} t={t} />}
              </section>
              <section className="panel">
                <div className="panel__head"><h2>{t("costOverTime")} · {t(`range.${range}`)}</h2>{download("overTimeByService")}</div>
                <CostOverTime byService={reports.overTimeByService} byModel={reports.overTimeByModel} bucket={reports.bucket}
                              hasKey={Boolean(apiKey)} locale={locale} t={t} />
              </section>
              <section className="panel">
                <div className="panel__head"><h2>{t("periodComparison")}</h2>{download("byService")}</div>
                <PeriodComparison report={reports.byService} hasKey={Boolean(apiKey)} locale={locale} t={t} />
              </section>
              <section className="panel">
                <h2>{t("priceList")}</h2>
                {pricing && <PriceList pricing={pricing} locale={locale} t={t} />}
              </section>
            </div>
          </main>
        </>
      )}
    </div>
  );
}
