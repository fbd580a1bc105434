import { useCallback, useEffect, useState } from "react";

import type { ApiClient, Budget } from "../api";
import { budgetBar } from "../budgets/progress";
import { scopeParts } from "../budgets/scope";
import { formatPercent, formatPeriod, formatTime, plural, type Locale, type Translate } from "../i18n";
import { compareMoney, formatMoney } from "../money";
import { useVisibleInterval } from "../useVisibleInterval";
import { BudgetForm } from "./BudgetForm";

/** How often the budgets are read again while the page is visible. */
export const BUDGETS_REFRESH_MS = 4000;

/**
 * The tenant's budgets, one card each, read again every few seconds while the page is
 * visible and whenever `refreshKey` changes (an alert arrived); the form to add one.
 */
export function BudgetsPanel({ api, locale, t, refreshKey }: {
  api: ApiClient; locale: Locale; t: Translate; refreshKey: number;
}) {
  const [budgets, setBudgets] = useState<Budget[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setBudgets(await api.budgets());
      setError(null);
    } catch (e) {
      setError(String(e));
    }
  }, [api]);
  useVisibleInterval(load, BUDGETS_REFRESH_MS);
  useEffect(() => {
    if (refreshKey > 0) load();
  }, [refreshKey, load]);

  async function remove(budget: Budget) {
    try {
      await api.deleteBudget(budget.budget_id);
      setBudgets((list) => list?.filter((b) => b.budget_id !== budget.budget_id) ?? null);
    } catch (e) {
      setError(String(e));
    }
  }

  return (
    <section className="panel" data-testid="budgets">
      <h2>{t("budgets")}</h2>
      {error && <p className="notice notice--error">{t("error")}: {error}</p>}
      {budgets && budgets.length === 0 && <p className="muted">{t("noBudgets")}</p>}
      <div className="budget-cards">
        {budgets?.map((budget) => (
          <BudgetCard key={budget.budget_id} budget={budget} locale={locale} t={t} onDelete={() => remove(budget)} />
        ))}
      </div>
      <BudgetForm api={api} t={t} onCreated={load} />
    </section>
  );
}

export function BudgetCard({ budget, locale, t, onDelete }: {
  budget: Budget; locale: Locale; t: Translate; onDelete: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const bar = budgetBar(budget);
  const { status, currency } = budget;
  // dir="ltr": "-$1.10" keeps its minus in front in Arabic too.
  const money = (value: string) => <bdi dir="ltr">{formatMoney(value, currency, locale)}</bdi>;
  const percent = (value: string) => formatPercent(Number(value), locale);
  return (
    <article className={`budget budget--${bar.level}`} data-testid="budget-card" data-budget-id={budget.budget_id}
             data-spent={status.spent} data-limit={budget.limit}>
      <header className="budget__head">
        <h3><bdi>{budget.name}</bdi></h3>
        <span className={`pill pill--${budget.action}`} title={t(`actionHint.${budget.action}`)}>
          {t(`action.${budget.action}`)}
        </span>
      </header>
      <p className="budget__scope" data-testid="budget-scope">
        {scopeParts(budget.scope, t).map((part, i) => (
          <span key={i}>
            {i > 0 && " · "}
            {part.label}{part.value !== null && <> <bdi className={part.isId ? "budget__id" : undefined}>{part.value}</bdi></>}
          </span>
        ))}
      </p>
      <p className="muted budget__period">
        {t(`period.${budget.period}`)}
        {budget.period !== "lifetime" && <> · <bdi>{formatPeriod(status.period_start, status.period_end, locale)}</bdi></>}
      </p>
      <div className="meter" role="meter" aria-label={`${t("spent")} ${formatPercent(bar.usedPercent, locale)} ${t("ofLimit")}`}
           aria-valuemin={0} aria-valuemax={bar.scale} aria-valuenow={Math.min(bar.usedPercent, bar.scale)}>
        <span className="meter__spent" style={{ inlineSize: `${bar.spentWidth}%` }} />
        <span className="meter__reserved" style={{ insetInlineStart: `${bar.spentWidth}%`, inlineSize: `${bar.reservedWidth}%` }} />
        {bar.limitAt !== null && <span className="meter__limit" style={{ insetInlineStart: `${bar.limitAt}%` }} />}
        {bar.ticks.map((tick) => (
          <span key={tick.threshold} className={`meter__tick${tick.crossed ? " meter__tick--crossed" : ""}`}
                style={{ insetInlineStart: `${tick.at}%` }} title={`${t("alertAt")} ${percent(tick.threshold)}`} />
        ))}
      </div>
      <p className="budget__used">
        <strong data-testid="budget-used">{formatPercent(bar.usedPercent, locale)}</strong> {t("ofLimit")}
        <span className="muted budget__alerts">
          {t("alertAt")}{" "}
          {bar.ticks.map((tick, i) => (
            <span key={tick.threshold} className={tick.crossed ? "crossed" : undefined}>
              {i > 0 && t("listSeparator")}{percent(tick.threshold)}
            </span>
          ))}
        </span>
      </p>
      <dl className="figures">
        <div><dt>{t("spent")}</dt><dd data-testid="budget-spent">{money(status.spent)}</dd></div>
        <div><dt><span className="swatch swatch--reserved" aria-hidden="true" />{t("reserved")}</dt><dd>{money(status.reserved)}</dd></div>
        <div className={compareMoney(status.remaining, "0") < 0 ? "figures__over" : undefined}>
          <dt>{t("remaining")}</dt><dd>{money(status.remaining)}</dd>
        </div>
        <div><dt>{t("limit")}</dt><dd>{money(budget.limit)}</dd></div>
      </dl>
      {(status.projected_spend || status.runs_out_at || status.unpriced_operations > 0) && (
        <p className="budget__forecast">
          {status.projected_spend && (
            <span className={compareMoney(status.projected_spend, budget.limit) > 0 ? "budget__projected--over" : undefined}>
              {t("projected")}: {money(status.projected_spend)}
            </span>
          )}
          {status.runs_out_at && <span className="budget__runs-out">{t("runsOut")} <bdi>{formatTime(status.runs_out_at, locale)}</bdi></span>}
          {status.unpriced_operations > 0 && (
            <span className="badge-unpriced" title={t("unpricedHint")} data-testid="budget-unpriced">
              {plural("count.unpriced", status.unpriced_operations, locale)}
            </span>
          )}
        </p>
      )}
      <footer className="budget__actions">
        {confirming ? (
          <>
            <span>{t("confirmDelete")}</span>
            <button type="button" className="danger" onClick={onDelete} data-testid="budget-delete-confirm">{t("confirmDeleteYes")}</button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>{t("cancel")}</button>
          </>
        ) : (
          <button type="button" className="secondary" onClick={() => setConfirming(true)} data-testid="budget-delete">{t("delete")}</button>
        )}
      </footer>
    </article>
  );
}
