import { useEffect, useState, type ReactNode } from "react";

import type { Budget, SessionStats } from "../api";
import { CostWithUnpriced } from "../components/Money";
import {
  direction, formatCount, formatDuration, formatTime, modelName, plural, translator, type Locale, type Translate,
} from "../i18n";
import { compareMoney, formatMoney, percentOf } from "../money";
import "./tracker.css";
import { useSessionBudget } from "./useSessionBudget";
import { useSessionTotals, type TokenSource } from "./useSessionTotals";

export interface UsageTrackerProps {
  /** The session to watch. */
  sessionId: string;
  /** Where the meterstream API is, e.g. "https://meter.example.com" ("" for the same origin). */
  apiBaseUrl: string;
  /**
   * A portal token for this session, minted by the app's backend with its API key
   * (`POST /v1/sessions/{id}/tokens`): read-only, this session only, short-lived. Use it (or
   * `getToken`) in end users' browsers, never the API key.
   */
  token?: string;
  /** Fetches a new portal token from the app's backend, at start (without `token`) and when one expires. */
  getToken?: TokenSource;
  /** An API key of the session's tenant, sent as `Authorization: Bearer`: only in trusted pages (the dashboard). */
  apiKey?: string;
  locale?: Locale;
  defaultCollapsed?: boolean;
  /** Called with every pushed set of totals (the dashboard refreshes its activity list). */
  onTotals?: (totals: SessionStats) => void;
  /** Show what is left of the tightest budget that applies to the session (default true; needs `apiKey`:
   *  a portal token does not read budgets). */
  showBudget?: boolean;
}

/** A collapsible live usage tracker for one session: cost, operations, tokens, video, per service. */
export function UsageTracker({
  sessionId, apiBaseUrl, token, getToken, apiKey, locale = "en", defaultCollapsed = false, onTotals, showBudget = true,
}: UsageTrackerProps) {
  const t = translator(locale);
  const [collapsed, setCollapsed] = useState(defaultCollapsed);
  const portal = Boolean(token || getToken);
  const live = useSessionTotals(apiBaseUrl, sessionId, token ?? apiKey, getToken);
  const totals = live.totals;
  const budget = useSessionBudget(apiBaseUrl, showBudget && !portal ? sessionId : "", apiKey,
                                  `${totals?.operations ?? 0}|${totals?.total_cost ?? "0"}`);

  useEffect(() => {
    if (totals && onTotals) onTotals(totals);
  }, [totals, onTotals]);

  const active = live.session ? live.session.status === "active" : live.connected;
  const currency = totals?.currency ?? "USD";
  const services = Object.entries(totals?.by_service ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const cost = (
    <CostWithUnpriced cost={totals?.total_cost ?? "0"} currency={currency} operations={totals?.operations ?? 0}
                      unpriced={totals?.unpriced_operations ?? 0} quantities={totals ?? {}} locale={locale} t={t} />
  );
  // Every token counted, each kind as the API names it (cached tokens are part of the input).
  const tokens = {
    input: totals?.input_tokens ?? 0, output: totals?.output_tokens ?? 0, thinking: totals?.thinking_tokens ?? 0,
    toolUse: totals?.tool_use_prompt_tokens ?? 0, cached: totals?.cached_input_tokens ?? 0,
  };
  const allTokens = tokens.input + tokens.output + tokens.thinking + tokens.toolUse;

  return (
    <section className="ms-tracker" dir={direction(locale)} lang={locale} data-testid="usage-tracker">
      <header className="ms-tracker__header">
        <button
          type="button"
          className="ms-tracker__toggle"
          aria-expanded={!collapsed}
          onClick={() => setCollapsed((c) => !c)}
          title={collapsed ? t("expand") : t("collapse")}
        >
          <span className={`ms-tracker__dot${active ? " ms-tracker__dot--active" : ""}`} aria-hidden="true" />
          <span className="ms-tracker__title">{t("tracker")}</span>
          <span className="ms-tracker__status" data-testid="tracker-status">
            {live.connected ? (active ? t("active") : t("ended")) : t("connecting")}
          </span>
          <span className="ms-tracker__headline" data-testid="tracker-headline">{cost}</span>
          <span className="ms-tracker__chevron" aria-hidden="true">{collapsed ? "▾" : "▴"}</span>
        </button>
      </header>
      {!collapsed && (
        <div className="ms-tracker__body">
          {budget && <BudgetLeft budget={budget} locale={locale} t={t} />}
          <div className="ms-tracker__cards">
            <Stat testId="stat-cost" label={t("cost")} value={totals?.total_cost ?? "0"}>{cost}</Stat>
            <Stat testId="stat-operations" label={t("operations")} value={String(totals?.operations ?? 0)}>
              {formatCount(totals?.operations ?? 0, locale)}
            </Stat>
            <Stat testId="stat-tokens" label={t("tokens")} value={String(allTokens)}>
              {formatCount(allTokens, locale)}
              {allTokens > 0 && (
                <span className="ms-tracker__breakdown" data-testid="stat-tokens-breakdown">
                  {(["input", "output", "thinking", "toolUse", "cached"] as const)
                    .filter((kind) => tokens[kind] > 0 || kind === "input" || kind === "output")
                    .map((kind) => (
                      <span key={kind} data-kind={kind} data-value={tokens[kind]}>
                        {t(`tokens.${kind}`)} {formatCount(tokens[kind], locale)}
                      </span>
                    ))}
                </span>
              )}
            </Stat>
            <Stat testId="stat-video" label={t("videoDuration")} value={totals?.video_seconds ?? "0"}>
              {formatDuration(totals?.video_seconds ?? "0", locale)}
            </Stat>
          </div>
          <h4 className="ms-tracker__subtitle">{t("byService")}</h4>
          {services.length === 0 ? (
            <p className="ms-tracker__empty">{t("noUsage")}</p>
          ) : (
            <ul className="ms-tracker__services">
              {services.map(([service, stats]) => (
                <li key={service} data-testid={`service-${service}`}>
                  <span className="ms-tracker__service">{t(`service.${service}`)}</span>
                  <span className="ms-tracker__models">{stats.models.map(modelName).join(", ")}</span>
                  <span className="ms-tracker__ops">{plural("count.operations", stats.operations, locale)}</span>
                  <span className="ms-tracker__money">
                    <CostWithUnpriced cost={stats.cost} currency={currency} operations={stats.operations}
                                      unpriced={stats.unpriced_operations ?? 0} quantities={stats} locale={locale} t={t} />
                  </span>
                </li>
              ))}
            </ul>
          )}
          <dl className="ms-tracker__meta">
            <dt>{t("session")}</dt>
            <dd><bdi data-testid="tracker-session-id">{sessionId}</bdi></dd>
            <dt>{t("started")}</dt>
            <dd>{formatTime(live.session?.started_at ?? totals?.first_event_at ?? null, locale)}</dd>
            <dt>{t("lastUpdate")}</dt>
            <dd data-testid="tracker-updated">{live.updatedAt ? formatTime(live.updatedAt.toISOString(), locale) : "—"}</dd>
          </dl>
          {live.error && !live.connected && <p className="ms-tracker__error">{t("error")}: {live.error}</p>}
        </div>
      )}
    </section>
  );
}

function Stat({ label, value, testId, children }: { label: string; value: string; testId: string; children: ReactNode }) {
  return (
    <div className="ms-tracker__card" data-testid={testId} data-value={value}>
      <span className="ms-tracker__label">{label}</span>
      <bdi className="ms-tracker__value">{children}</bdi>
    </div>
  );
}

/** What is left of a budget, of its limit, with a thin bar that shrinks as it is spent. */
function BudgetLeft({ budget, locale, t }: { budget: Budget; locale: Locale; t: Translate }) {
  const { remaining } = budget.status;
  const share = Math.min(100, Math.max(0, percentOf(remaining, budget.limit)));
  const level = compareMoney(remaining, "0") <= 0 ? "over" : share < 20 ? "low" : "ok";
  return (
    <div className={`ms-tracker__budget ms-tracker__budget--${level}`} data-testid="tracker-budget"
         data-remaining={remaining} data-limit={budget.limit} data-budget-id={budget.budget_id}>
      <div className="ms-tracker__budget-row">
        <span className="ms-tracker__label">{level === "over" ? t("overBudget") : t("remainingBudget")} · <bdi>{budget.name}</bdi></span>
        <span className="ms-tracker__budget-figures">
          <bdi className="ms-tracker__money" dir="ltr">{formatMoney(remaining, budget.currency, locale)}</bdi> {t("of")}{" "}
          <bdi dir="ltr">{formatMoney(budget.limit, budget.currency, locale)}</bdi>
        </span>
      </div>
      <div className="ms-tracker__budget-bar" aria-hidden="true"><span style={{ inlineSize: `${share}%` }} /></div>
    </div>
  );
}
