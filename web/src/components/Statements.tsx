import { useCallback, useEffect, useState } from "react";

import type { ApiClient } from "../api";
import { formatCount, formatMonth, formatTime, type Locale, type Translate } from "../i18n";
import { formatMoney } from "../money";
import { recentMonths } from "../months";

// The parts of a statement (GET /v1/statements) this view shows; money is an exact string.
interface Amount { currency: string; amount: string }
export interface Statement {
  statement_id: string;
  month: string;
  attribute: string | null;
  value: string | null;
  state: "open" | "closed";
  closes_at: string;
  closed_at: string | null;
  events: number;
  totals: Amount[];
  unpriced: { events: number }[];
  adjustments: { for_month: string; totals: Amount[] }[];
}

const FORMATS = [
  { format: "json", label: "JSON", closedOnly: false },
  { format: "csv", label: "CSV", closedOnly: false },
  { format: "beancount", label: "Beancount", closedOnly: true },
  { format: "hledger", label: "hledger", closedOnly: true },
];

function thisMonth(): string {
  return new Date().toISOString().slice(0, 7);
}

/** How many months back the month picker goes (this one included). */
const MONTHS_BACK = 24;

function total(s: Statement, locale: Locale): string {
  return s.totals.map((t) => formatMoney(t.amount, t.currency, locale)).join(" · ") || formatMoney("0", "USD", locale);
}

function download(api: ApiClient, s: Statement, format: string): Promise<void> {
  return api.download(`/v1/statements/${s.statement_id}/export?format=${format}`, `${s.month}.${format}`);
}

/** A month's statements (the whole account, or one per value of an attribute), with downloads. */
export function Statements({ api, locale, t }: { api: ApiClient; locale: Locale; t: Translate }) {
  const [month, setMonth] = useState(thisMonth);
  const [attribute, setAttribute] = useState("");
  const [shown, setShown] = useState({ month: thisMonth(), attribute: "" });
  const [statements, setStatements] = useState<Statement[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const query = new URLSearchParams({ month: shown.month, ...(shown.attribute ? { attribute: shown.attribute } : {}) });
      setStatements((await api.request<{ statements: Statement[] }>("GET", `/v1/statements?${query}`)).statements);
      setError(null);
    } catch (e) {
      setError(String(e));
    }
  }, [api, shown]);

  useEffect(() => { load(); }, [load]);

  async function close(s: Statement) {
    try {
      await api.request("POST", `/v1/statements/${s.statement_id}/close`);
      await load();
    } catch (e) {
      setError(String(e));
    }
  }

  const ended = shown.month < thisMonth();
  return (
    <div className="statements" data-testid="statements">
      <form className="statements__filter" style={{ display: "flex", flexWrap: "wrap", gap: 8, marginBottom: 12 }}
            onSubmit={(e) => { e.preventDefault(); setShown({ month, attribute: attribute.trim() }); }}>
        <label>
          <span className="sr-only">{t("statements.month")}</span>
          {/* Not <input type="month">: Chromium draws it in the browser's language and Latin digits. */}
          <select value={month} onChange={(e) => setMonth(e.target.value)}
                  aria-label={t("statements.month")} data-testid="statements-month">
            {recentMonths(thisMonth(), MONTHS_BACK).map((m) => <option key={m} value={m}>{formatMonth(m, locale)}</option>)}
          </select>
        </label>
        <input value={attribute} onChange={(e) => setAttribute(e.target.value)} placeholder={t("statements.attribute")}
               aria-label={t("statements.attribute")} dir="ltr" style={{ flex: "1 1 140px", minWidth: 0 }} />
        <button type="submit" className="secondary">{t("statements.show")}</button>
      </form>
      {error && <p className="notice notice--error">{error}</p>}
      {statements && statements.length === 0 && <p className="muted">{t("statements.none")}</p>}
      <ul className="activity">
        {(statements ?? []).map((s) => (
          <li key={s.statement_id} data-testid="statement" style={{ flexWrap: "wrap", gap: 6 }}>
            <span className={`badge ${s.state === "closed" ? "badge--video" : "badge--text"}`}>
              {t(`statements.${s.state}`)}
            </span>
            <span className="activity__what" style={{ minWidth: 0, overflowWrap: "anywhere" }}>
              <strong><bdi>{s.attribute ? `${s.attribute}=${s.value || "—"}` : t("statements.tenant")}</bdi></strong>
              {" · "}{t("statements.events")} {formatCount(s.events, locale)}
              {s.adjustments.length > 0 && <> · {t("statements.adjustments")} <bdi>{s.adjustments.map((a) => formatMonth(a.for_month, locale)).join(locale === "ar" ? "، " : ", ")}</bdi></>}
              {s.unpriced.length > 0 && <> · {t("statements.unpriced")} {formatCount(s.unpriced.reduce((n, u) => n + u.events, 0), locale)}</>}
              <br />
              <span className="muted">
                {s.state === "closed" ? `${t("statements.closed")} ${formatTime(s.closed_at, locale)}`
                  : `${t("statements.closesAt")} ${formatTime(s.closes_at, locale)}`}
              </span>
            </span>
            <bdi className="activity__cost" dir="ltr" data-testid="statement-total">{total(s, locale)}</bdi>
            <span style={{ display: "flex", flexWrap: "wrap", gap: 4, flexBasis: "100%" }}>
              <span className="muted">{t("statements.download")}:</span>
              {FORMATS.filter((f) => !f.closedOnly || s.state === "closed").map((f) => (
                <button key={f.format} type="button" className="secondary" data-testid={`download-${f.format}`}
                        onClick={() => download(api, s, f.format).catch((e) => setError(String(e)))}>
                  {f.label}
                </button>
              ))}
              {s.state === "open" && ended && (
                <button type="button" onClick={() => close(s)} data-testid="close-statement">{t("statements.close")}</button>
              )}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
