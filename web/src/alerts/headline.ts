// An alert's headline in the reader's language, from its structured fields; the API's
// own title (English) when the alert has no budget to speak of.
import type { AlertRecord } from "../api";
import { fill, formatPercent, formatTime, type Locale, type Translate } from "../i18n";
import { formatMoney, ltrIsolate } from "../money";

const LTR_ISOLATE = ltrIsolate; // money and names keep their order in Arabic

export function alertHeadline(alert: AlertRecord, locale: Locale, t: Translate): string {
  const budget = alert.budget;
  if (!budget || (alert.kind === "budget.threshold" && !budget.threshold)
      || (alert.kind === "budget.forecast" && !budget.runs_out_at)) return alert.title;
  return fill(t(`alertTitle.${alert.kind}`), {
    name: `\u2068${budget.name}\u2069`,
    threshold: budget.threshold ? formatPercent(Number(budget.threshold), locale) : "",
    limit: LTR_ISOLATE(formatMoney(budget.limit, budget.currency, locale)),
    spent: LTR_ISOLATE(formatMoney(budget.spent, budget.currency, locale)),
    date: budget.runs_out_at ? formatTime(budget.runs_out_at, locale) : "",
  });
}
