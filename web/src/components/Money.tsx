// How every view shows money and unpriced usage, so that the rules hold in one place:
// an amount is shown by formatMoney's rule with its exact value in the tooltip, and usage
// whose cost is unknown is marked (badge and count), never shown as $0.00.
import { fill, type Locale, type Translate } from "../i18n";
import { exactMoney, formatMoney } from "../money";
import { unpricedText, type UnpricedQuantities } from "../unpriced";

export function Money({ value, currency = "USD", locale, className, testId }: {
  value: string; currency?: string; locale: Locale; className?: string; testId?: string;
}) {
  return (
    <bdi className={className} dir="ltr" title={exactMoney(value, currency, locale)} data-exact={value} data-testid={testId}>
      {formatMoney(value, currency, locale)}
    </bdi>
  );
}

/**
 * "Unpriced", or "2 unpriced operations" with a count, and what they used when known
 * ("2 unpriced operations · 1,200 tokens"); the reason (or what unpriced means) as its tooltip.
 */
export function UnpricedBadge({ count, quantities, reason, locale, t }: {
  count?: number; quantities?: UnpricedQuantities; reason?: string | null; locale: Locale; t: Translate;
}) {
  const text = count === undefined ? t("unpriced")
    : unpricedText(count, quantities ?? {}, locale);
  const title = reason ? fill(t("unpricedReason"), { reason }) : t("unpricedHint");
  return (
    <span className="ms-unpriced" data-testid="unpriced" data-count={count ?? ""} title={title}>{text}</span>
  );
}

/**
 * A cost that may leave out unpriced operations: the amount alone when everything was priced;
 * the amount and a badge when some were not; only the badge when none was (there is no
 * amount to show, and $0.00 would say it was free).
 */
export function CostWithUnpriced({ cost, currency, operations, unpriced, quantities, locale, t, testId }: {
  cost: string; currency: string; operations: number; unpriced: number; quantities?: UnpricedQuantities;
  locale: Locale; t: Translate; testId?: string;
}) {
  if (unpriced > 0 && unpriced >= operations) {
    return <span className="ms-cost" data-testid={testId} data-unpriced={unpriced}>
      <UnpricedBadge count={unpriced} quantities={quantities} locale={locale} t={t} />
    </span>;
  }
  return (
    <span className="ms-cost" data-testid={testId} data-unpriced={unpriced}>
      <Money value={cost} currency={currency} locale={locale} />
      {unpriced > 0 && <UnpricedBadge count={unpriced} quantities={quantities} locale={locale} t={t} />}
    </span>
  );
}
