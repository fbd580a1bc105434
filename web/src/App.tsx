import { useCallback, useEffect, useMemo, useState } from "react";

import { useAlerts } from "./alerts/useAlerts";
import { ApiClient, type Operation, type Pricing, type UsageReport } from "./api";
import { Activity } from "./components/Activity";
import { AlertsFeed } from "./components/Alerts";
import { BudgetsPanel } from "./components/Budgets";
import { PriceList, ServiceCards } from "./components/Catalog";
import { CostOverTime, PeriodComparison } from "./components/Charts";
import { InsightsPage } from "./components/Insights";
import { Statements } from "./components/Statements";
import { direction, translator, type Locale } from "./i18n";
import { UsageTracker } from "./tracker";

// What the browser remembers, as the original app did: the last active session, the
// language and the API key (this browser's own; never sent anywhere but the API).
const STORAGE = { session: "meterstream.activeSessionId", locale: "meterstream.locale", key: "meterstream.apiKey" };

// Three views, named in the address (#budgets, #insights) so a link or a reload opens the same one.
type View = "usage" | "budgets" | "insights";
const viewOf = (hash: string): View => (hash === "#budgets" ? "budgets" : hash === "#insights" ? "insights" : "usage");
const VIEW_LABELS = { usage: "viewUsage", budgets: "viewBudgets", insights: "viewInsights" } as const;

interface Reports {
  byServiceModel: UsageReport | null;
  hourlyByService: UsageReport | null;
  hourlyByModel: UsageReport | null;
  weekByService: UsageReport | null;
}

export function App() {
  const [locale, setLocale] = useState<Locale>(() => (localStorage.getItem(STORAGE.locale) as Locale) || "en");
  const [apiKey, setApiKey] = useState(() => localStorage.getItem(STORAGE.key) ?? "");
  const [keyDraft, setKeyDraft] = useState(apiKey);
  const [sessionId, setSessionId] = useState(() => localStorage.getItem(STORAGE.session) ?? "");
  const [sessionDraft, setSessionDraft] = useState("");
  const [pricing, setPricing] = useState<Pricing | null>(null);
  const [activity, setActivity] = useState<Operation[]>([]);
  const [reports, setReports] = useState<Reports>({
    byServiceModel: null, hourlyByService: null, hourlyByModel: null, weekByService: null,
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

  const refresh = useCallback(async () => {
    if (!apiKey) return;
    try {
      const [prices, recent, byServiceModel, hourlyByService, hourlyByModel, weekByService] = await Promise.all([
        api.pricing(), api.activity(15), api.report(["service", "model"], 24 * 30),
        api.report(["hour", "service"], 24), api.report(["hour", "model"], 24), api.report(["service"], 24 * 7),
      ]);
      setPricing(prices);
      setActivity(recent);
      setReports({ byServiceModel, hourlyByService, hourlyByModel, weekByService });
      setError(null);
    } catch (e) {
      setError(String(e));
    }
  }, [api, apiKey]);

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
    } catch (e) {
      setError(String(e));
    }
  }

  async function endSession() {
    if (!sessionId) return;
    try {
      await api.endSession(sessionId);
      const ended = sessionId;
      setSessionId("");
      setTimeout(() => setSessionId(ended), 0); // reconnect: the tracker shows it ended
    } catch (e) {
      setError(String(e));
    }
  }

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
        {(["usage", "budgets", "insights"] as const).map((name) => (
          <button key={name} type="button" role="tab" aria-selected={view === name} data-testid={`view-${name}`}
                  className={view === name ? "views__tab views__tab--on" : "views__tab"} onClick={() => openView(name)}>
            {t(VIEW_LABELS[name])}
            {name === "budgets" && unread > 0 && <span className="views__unread" data-testid="alerts-unread">{unread}</span>}
          </button>
        ))}
      </nav>

      {view === "insights" ? (
        apiKey ? <InsightsPage api={api} locale={locale} t={t} refreshKey={alertsSeen} /> : null
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
            <button type="button" onClick={endSession} disabled={!apiKey || !sessionId} className="secondary">
              {t("endSession")}
            </button>
            <form onSubmit={(e) => { e.preventDefault(); if (sessionDraft.trim()) setSessionId(sessionDraft.trim()); }}>
              <input value={sessionDraft} onChange={(e) => setSessionDraft(e.target.value)}
                     placeholder={t("sessionIdPlaceholder")} dir="ltr" data-testid="session-input" />
              <button type="submit" className="secondary">{t("openSession")}</button>
            </form>
          </section>

          <main className="grid">
            <div className="col">
              {apiKey && sessionId && (
                <UsageTracker sessionId={sessionId} apiBaseUrl="" apiKey={apiKey} locale={locale} onTotals={onTotals} />
              )}
              <section className="panel">
                <h2>{t("recentActivity")}</h2>
                <Activity operations={activity} locale={locale} t={t} />
              </section>
              {apiKey && (
                <section className="panel">
                  <h2>{t("statements")}</h2>
                  <Statements api={api} locale={locale} t={t} />
                </section>
              )}
            </div>
            <div className="col">
              <section className="panel">
                <h2>{t("services")}</h2>
                {pricing && <ServiceCards pricing={pricing} usage={reports.byServiceModel?.current.rows ?? []} t={t} />}
              </section>
              <section className="panel">
                <h2>{t("costOverTime")}</h2>
                <CostOverTime byService={reports.hourlyByService} byModel={reports.hourlyByModel} locale={locale} t={t} />
              </section>
              <section className="panel">
                <h2>{t("periodComparison")}</h2>
                <PeriodComparison report={reports.weekByService} locale={locale} t={t} />
              </section>
              <section className="panel">
                <h2>{t("priceList")}</h2>
                {pricing && <PriceList pricing={pricing} t={t} />}
              </section>
            </div>
          </main>
        </>
      )}
    </div>
  );
}
