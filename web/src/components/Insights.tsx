import { useEffect, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { anomalyHeadline } from "../alerts/headline";
import { insightsPath, type AlertRecord, type ApiClient, type Change, type Distribution, type Forecast,
  type Recommendations, type TopRow } from "../api";
import { fill, formatCount, formatMonth, formatPercent, formatTime, modelName, plural, type Locale, type Translate } from "../i18n";
import { formatMoney, moneyNumber, moneyTick } from "../money";

type Insights = Awaited<ReturnType<ApiClient["insights"]>>;

const LTR = (text: string) => `\u2066${text}\u2069`;

/** The Insights view: the month's forecast, savings, unusual spend, tops, distributions, comparison. */
export function InsightsPage({ api, locale, t, refreshKey }: {
  api: ApiClient; locale: Locale; t: Translate; refreshKey: number;
}) {
  const [data, setData] = useState<Insights | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.insights(30).then((found) => { if (live) { setData(found); setError(null); } })
      .catch((e) => { if (live) setError(String(e)); });
    return () => { live = false; };
  }, [api, refreshKey]);

  if (error) return <p className="notice notice--error" data-testid="insights-error">{t("error")}: {error}</p>;
  if (!data) return <p className="muted">{t("connecting")}</p>;
  // The rows a table shows, as the API's CSV (money exact), over the same period.
  const csv = (path: string, extra: Record<string, string>, name: string) => (
    <button type="button" className="chip panel__download" data-testid={`download-${name}`}
            onClick={() => api.download(insightsPath(path, data.range, { ...extra, format: "csv" }), `${name}.csv`)
              .catch((e) => setError(String(e)))}>
      {t("downloadCsv")}
    </button>
  );
  return (
    <main className="grid grid--insights" data-testid="insights">
      <div className="col">
        <ForecastCard forecast={data.forecast} locale={locale} t={t} />
        <RecommendationsPanel found={data.recommendations} locale={locale} t={t} />
        <AnomaliesPanel anomalies={data.anomalies} locale={locale} t={t} />
      </div>
      <div className="col">
        <section className="panel">
          <h2>{t("insights.comparison")}</h2>
          <ComparisonChart changes={data.changes} locale={locale} t={t} />
        </section>
        <section className="panel">
          <div className="panel__head">
            <h2>{t("insights.distributions")}</h2>{csv("distributions", {}, "insights-distributions")}
          </div>
          <DistributionsChart distributions={data.distributions} locale={locale} t={t} />
        </section>
        <section className="panel">
          <div className="panel__head">
            <h2>{t("insights.top")}</h2>{csv("top", { by: "session", limit: "5" }, "insights-top-sessions")}
          </div>
          <TopTable rows={data.sessions} name="session_id" locale={locale} t={t} testId="insights-top-sessions" />
          <div className="panel__head">
            <h2 className="insights__subheading">{t("insights.topUsers")}</h2>
            {csv("top", { by: "user", limit: "5" }, "insights-top-users")}
          </div>
          <TopTable rows={data.users} name="user_id" locale={locale} t={t} testId="insights-top-users" />
        </section>
      </div>
    </main>
  );
}

function ForecastCard({ forecast, locale, t }: { forecast: Forecast; locale: Locale; t: Translate }) {
  return (
    <section className="panel" data-testid="insights-forecast">
      <h2>{t("insights.forecast")} <span className="muted">{formatMonth(forecast.month, locale)}</span></h2>
      <dl className="figures">
        <div><dt>{t("insights.spent")}</dt><dd><bdi>{formatMoney(forecast.spent, forecast.currency, locale)}</bdi></dd></div>
        <div><dt>{t("insights.forecastTotal")}</dt>
          <dd data-testid="forecast-total"><bdi>{formatMoney(roundCents(forecast.forecast), forecast.currency, locale)}</bdi></dd></div>
        <div><dt>{t("insights.range")}</dt>
          <dd><bdi>{formatMoney(roundCents(forecast.low), forecast.currency, locale)} – {formatMoney(roundCents(forecast.high), forecast.currency, locale)}</bdi></dd></div>
      </dl>
      {forecast.unpriced_operations > 0 && (
        <p className="muted">{plural("count.unpriced", forecast.unpriced_operations, locale)} {t("insights.notZero")}</p>
      )}
      <p className="muted small">{t("insights.forecastRule")}</p>
    </section>
  );
}

/** A forecast is an estimate: cents are enough (the exact figures stay in the API's answer). */
function roundCents(value: string): string {
  const [whole, fraction = ""] = value.split(".");
  return fraction.length <= 2 ? value : `${whole}.${fraction.slice(0, 2)}`;
}

function RecommendationsPanel({ found, locale, t }: { found: Recommendations; locale: Locale; t: Translate }) {
  const rtl = locale === "ar";
  const title = (id: string) => t(`rule.${id}`);
  const chart = found.recommendations.slice(0, 6).map((r) => ({ rule: title(r.rule_id), saving: moneyNumber(r.saving) }));
  return (
    <section className="panel" data-testid="insights-recommendations">
      <h2>{t("insights.recommendations")} <span className="muted">{t("insights.period")}</span></h2>
      {found.recommendations.length === 0 ? <p className="muted">{t("insights.noRecommendations")}</p> : (
        <>
          <p className="muted">{fill(t("insights.totalSaving"), {
            saving: LTR(formatMoney(roundCents(found.saving), "USD", locale)),
            total: LTR(formatMoney(roundCents(found.total_cost), "USD", locale)),
          })}</p>
          <div className="chart" data-testid="chart-savings">
            <ResponsiveContainer width="100%" height={Math.max(120, 36 * chart.length)}>
              <BarChart data={chart} layout="vertical" margin={{ top: 4, right: 12, left: 12, bottom: 4 }}>
                <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                <XAxis type="number" reversed={rtl} tickFormatter={moneyTick(locale)} />
                <YAxis type="category" dataKey="rule" width={150} orientation={rtl ? "right" : "left"}
                       tick={{ fontSize: 11 }} />
                <Tooltip formatter={(value) => formatMoney(String(value), "USD", locale)} />
                <Bar dataKey="saving" name={t("insights.saving")} fill="#16a34a" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <ul className="recommendations">
            {found.recommendations.map((r) => (
              <li key={`${r.rule_id}/${r.model}`} className="recommendation" data-testid="recommendation"
                  data-rule={r.rule_id}>
                <div className="recommendation__head">
                  <strong>{title(r.rule_id)}</strong>
                  <span className="recommendation__saving" data-testid="recommendation-saving">
                    <bdi>−{formatMoney(r.saving, r.currency, locale)}</bdi>
                  </span>
                </div>
                <p className="recommendation__figures muted">
                  {t("insights.cost")} <bdi>{formatMoney(r.cost, r.currency, locale)}</bdi>{t("listSeparator")}
                  {t("insights.wouldCost")} <bdi>{formatMoney(r.would_cost, r.currency, locale)}</bdi>{t("listSeparator")}
                  {formatPercent(Number(r.share_of_cost) * 100, locale)} {t("insights.share")}{t("listSeparator")}
                  {plural("count.operations", r.operations, locale)}
                </p>
                <p className="recommendation__tradeoff">{t(`tradeoff.${r.rule_id}`)}</p>
              </li>
            ))}
          </ul>
        </>
      )}
      {found.unpriced_operations > 0 && (
        <p className="muted">{plural("count.unpriced", found.unpriced_operations, locale)} {t("insights.notZero")}</p>
      )}
    </section>
  );
}

function AnomaliesPanel({ anomalies, locale, t }: { anomalies: AlertRecord[]; locale: Locale; t: Translate }) {
  return (
    <section className="panel" data-testid="insights-anomalies">
      <h2>{t("insights.anomalies")}</h2>
      {anomalies.length === 0 ? <p className="muted">{t("insights.noAnomalies")}</p> : (
        <ul className="alerts">
          {anomalies.map((alert) => (
            <li key={alert.alert_id} className={`alert alert--${alert.kind.replace(".", "-")}`} data-testid="anomaly"
                data-kind={alert.kind}>
              <span className="alert__kind">{t(`alertKind.${alert.kind}`)}</span>
              <div className="alert__body">
                <span className="alert__title" title={alert.title}>
                  {alert.anomaly ? anomalyHeadline(alert.anomaly, locale, t) : alert.title}
                </span>
                <time className="muted" dateTime={alert.raised_at}>{formatTime(alert.raised_at, locale)}</time>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ComparisonChart({ changes, locale, t }: { changes: Change[]; locale: Locale; t: Translate }) {
  const rtl = locale === "ar";
  const data = changes.slice(0, 8).map((c) => ({
    model: modelName(c.model), current: moneyNumber(c.current), previous: moneyNumber(c.previous),
  }));
  if (data.length === 0) return <p className="muted">{t("insights.noTop")}</p>;
  return (
    <div className="chart" data-testid="chart-insights-comparison">
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={data} margin={{ top: 8, right: 12, left: 12, bottom: 4 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          {/* Slanted labels lean towards the value axis, whose width leaves them room: mirrored in RTL. */}
          <XAxis dataKey="model" reversed={rtl} tick={{ fontSize: 11 }} interval={0} angle={rtl ? 20 : -20}
                 height={64} textAnchor={rtl ? "start" : "end"} />
          <YAxis orientation={rtl ? "right" : "left"} tickFormatter={moneyTick(locale)} width={70} />
          <Tooltip formatter={(value) => formatMoney(String(value), "USD", locale)} />
          <Legend />
          <Bar dataKey="previous" name={t("insights.previous")} fill="#c4b5fd" isAnimationActive={false} />
          <Bar dataKey="current" name={t("insights.current")} fill="#4f46e5" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function DistributionsChart({ distributions, locale, t }: {
  distributions: Distribution[]; locale: Locale; t: Translate;
}) {
  const rtl = locale === "ar";
  if (distributions.length === 0) return <p className="muted">{t("insights.noTop")}</p>;
  const data = ["p50", "p90", "p99"].map((q) => {
    const row: Record<string, string | number> = { q };
    for (const d of distributions) row[d.by] = moneyNumber(d[q as "p50" | "p90" | "p99"]);
    return row;
  });
  return (
    <div className="chart" data-testid="chart-distributions">
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={data} margin={{ top: 8, right: 12, left: 12, bottom: 4 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="q" reversed={rtl} />
          <YAxis orientation={rtl ? "right" : "left"} tickFormatter={moneyTick(locale)} width={70} />
          <Tooltip formatter={(value) => formatMoney(String(value), "USD", locale)} />
          <Legend formatter={(name) => (name === "session" ? t("insights.perSession") : t("insights.perUser"))} />
          <Bar dataKey="session" fill="#0891b2" isAnimationActive={false} />
          <Bar dataKey="user" fill="#db2777" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <table className="figures-table">
        <tbody>
          {distributions.map((d) => (
            <tr key={d.by}>
              <th scope="row">{d.by === "session" ? t("insights.perSession") : t("insights.perUser")}</th>
              <td>{formatCount(d.units, locale)}</td>
              <td><bdi>p50 {formatMoney(d.p50, d.currency, locale)}</bdi></td>
              <td><bdi>p90 {formatMoney(d.p90, d.currency, locale)}</bdi></td>
              <td><bdi>p99 {formatMoney(d.p99, d.currency, locale)}</bdi></td>
            </tr>
          ))}
        </tbody>
      </table>
      {distributions.some((d) => d.unpriced_only > 0) && (
        <p className="muted small">{fill(t("insights.unpricedOnly"), {
          count: formatCount(Math.max(...distributions.map((d) => d.unpriced_only)), locale),
        })}</p>
      )}
    </div>
  );
}

function TopTable({ rows, name, locale, t, testId }: {
  rows: TopRow[]; name: string; locale: Locale; t: Translate; testId: string;
}) {
  if (rows.length === 0) return <p className="muted">{t("insights.noTop")}</p>;
  return (
    <div className="table-wrap">
      <table className="figures-table" data-testid={testId}>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key[name]}>
              <th scope="row"><bdi className="ellipsis">{row.key[name] || t("insights.noUser")}</bdi></th>
              <td>{plural("count.operations", row.operations, locale)}</td>
              <td>{row.cost === null ? t("unpricedOps") : <bdi>{formatMoney(row.cost, row.currency, locale)}</bdi>}
                {row.cost !== null && row.unpriced_operations > 0 && (
                  <span className="muted"> (+{plural("count.unpriced", row.unpriced_operations, locale)})</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
