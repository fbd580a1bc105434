import type { Price, Pricing, ReportRow } from "../api";
import { componentLabel, fill, formatCount, formatDate, modelName, type Locale, type Translate } from "../i18n";
import { formatMoney, localDigits, ltrIsolate } from "../money";
import { addUnpriced, type UnpricedQuantities } from "../unpriced";
import { UnpricedBadge } from "./Money";

// Which service a billing unit belongs to, for models the tenant has not used yet.
const UNIT_SERVICE: Record<string, string> = { tokens: "text", images: "image", video: "video", characters: "speech" };

function perText(price: Price, t: Translate, locale: Locale): string {
  const per = price.per === 1 ? "" : `${localDigits(price.per >= 1_000_000 ? `${price.per / 1_000_000}M` : String(price.per), locale)} `;
  return `${t("per")} ${per}${t(`unit.${price.billing_unit}`)}`;
}

/** An amount inside a sentence: isolated, so "$" stays before its digits in Arabic. */
function amount(value: string, price: Price, locale: Locale): string {
  return ltrIsolate(formatMoney(value, price.currency, locale));
}

function componentsText(prices: Record<string, string>, price: Price, t: Translate, locale: Locale): string {
  return Object.entries(prices)
    .map(([component, value]) => `${amount(value, price, locale)} (${componentLabel(component, t)})`)
    .join(t("listSeparator"));
}

/** "$0.04 per image", "$0.30 (input) · $2.50 (output) per 1M tokens". */
export function priceText(price: Price, t: Translate, locale: Locale = "en"): string {
  const only = Object.keys(price.prices);
  if (only.length === 1 && ["image", "character", "second"].includes(only[0])) {
    return `${amount(price.prices[only[0]], price, locale)} ${perText(price, t, locale)}`;
  }
  return `${componentsText(price.prices, price, t, locale)} ${perText(price, t, locale)}`;
}

/** The rules beside the standard prices: the long-context tier, batch and free modes, the voice tier. */
export function priceRules(price: Price, t: Translate, locale: Locale): string[] {
  const rules: string[] = [];
  if (price.long_context) {
    const above = fill(t("longContext"), { tokens: formatCount(price.long_context.above_tokens, locale) });
    rules.push(`${above}: ${componentsText(price.long_context.prices, price, t, locale)}`);
  }
  if (price.batch_factor) rules.push(fill(t("batchMode"), { factor: localDigits(price.batch_factor, locale) }));
  if (price.free_tier) rules.push(t("freeTier"));
  if (price.voice_tier) rules.push(`${t("voiceTier")}: ${price.voice_tier}`);
  return rules;
}

interface Unpriced { operations: number; used: UnpricedQuantities }
const NONE: Unpriced = { operations: 0, used: {} };

/** One card per service: its models, each with billing type and price (used models first); unpriced usage marked. */
export function ServiceCards({ pricing, usage, locale, t }: {
  pricing: Pricing; usage: ReportRow[]; locale: Locale; t: Translate;
}) {
  const current = pricing.prices.filter((p) => p.in_force);
  // service -> model -> unpriced operations and what they used
  const byService = new Map<string, Map<string, Unpriced>>();
  for (const row of usage) {
    if (!byService.has(row.keys.service)) byService.set(row.keys.service, new Map());
    const models = byService.get(row.keys.service)!;
    const before = models.get(row.keys.model) ?? NONE;
    models.set(row.keys.model, { operations: before.operations + (row.unpriced_operations ?? 0),
                                 used: addUnpriced(before.used, row) });
  }
  if (byService.size === 0) {
    for (const price of current) {
      const service = UNIT_SERVICE[price.billing_unit] ?? "other";
      if (!byService.has(service)) byService.set(service, new Map());
      byService.get(service)!.set(price.model, NONE);
    }
  }
  return (
    <div className="service-cards">
      {[...byService.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([service, models]) => (
        <article key={service} className="service-card" data-testid={`service-card-${service}`}>
          <h3>{t(`service.${service}`)}</h3>
          <ul>
            {[...models.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([model, unpriced]) => {
              const price = current.find((p) => p.model === model);
              return (
                <li key={model} data-model={model}>
                  <strong>{modelName(model)}</strong>
                  <span className="muted">{price ? t(`unit.${price.billing_unit}`) : t("notInCatalog")}</span>
                  {price && <bdi>{priceText(price, t, locale)}</bdi>}
                  {unpriced.operations > 0 && (
                    <span><UnpricedBadge count={unpriced.operations} quantities={unpriced.used} locale={locale} t={t} /></span>
                  )}
                </li>
              );
            })}
          </ul>
        </article>
      ))}
    </div>
  );
}

export function PriceList({ pricing, locale, t }: { pricing: Pricing; locale: Locale; t: Translate }) {
  return (
    <div className="table-wrap">
      <table className="price-list" data-testid="price-list">
        <thead>
          <tr>
            <th>{t("model")}</th>
            <th>{t("billingUnit")}</th>
            <th>{t("price")}</th>
            <th>{t("effective")}</th>
            <th>{t("source")}</th>
          </tr>
        </thead>
        <tbody>
          {pricing.prices.filter((p) => p.in_force).map((price) => (
            <tr key={`${price.model}-${price.effective_from}`} data-model={price.model}>
              <td className="price-list__model"><bdi>{price.model}</bdi></td>
              <td className="price-list__unit">{t(`unit.${price.billing_unit}`)}</td>
              <td className="price-list__price">
                <bdi>{priceText(price, t, locale)}</bdi>
                {priceRules(price, t, locale).map((rule) => <div key={rule} className="muted price-rule"><bdi>{rule}</bdi></div>)}
              </td>
              <td>{formatDate(price.effective_from, locale)}</td>
              <td><a href={price.source} rel="noreferrer">{new URL(price.source).hostname}</a></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
