// An alert's headline in the reader's language, from its structured fields; the API's
// own title (English) when the alert has no budget to speak of.
import type { AlertRecord } from "../api";
import { fill, formatCount, formatPercent, formatTime, type Locale, type Translate } from "../i18n";
import { formatMoney, ltrIsolate } from "../money";

const LTR_ISOLATE = ltrIsolate; // money and names keep their order in Arabic

export function alertHeadline(alert: AlertRecord, locale: Locale, t: Translate): string {
  if (alert.anomaly) return anomalyHeadline(alert.anomaly, locale, t);
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

/** "$12.00 in 60 min from 2 Dec 2026, 11:00, expected about $1.00: ben on imagen-4.0-generate". */
export function anomalyHeadline(anomaly: NonNullable<AlertRecord["anomaly"]>, locale: Locale, t: Translate): string {
  const driver = anomaly.drivers[0];
  return fill(t(driver ? "alertTitle.anomalyDriver" : "alertTitle.anomaly"), {
    spent: LTR_ISOLATE(formatMoney(anomaly.spent, anomaly.currency, locale)),
    expected: LTR_ISOLATE(formatMoney(anomaly.expected, anomaly.currency, locale)),
    minutes: formatCount(anomaly.window_minutes, locale),
    time: formatTime(anomaly.window_start, locale),
    user: `\u2068${driver?.user_id ?? t("insights.noUser")}\u2069`,
    model: LTR_ISOLATE(driver?.model ?? ""),
  });
}
