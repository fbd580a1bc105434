import type { Price, Pricing, ReportRow } from "../api";
import { modelName, type Translate } from "../i18n";
import { formatMoney } from "../money";

// Which service a billing unit belongs to, for models the tenant has not used yet.
const UNIT_SERVICE: Record<string, string> = { tokens: "text", images: "image", video: "video", characters: "speech" };

/** "$0.04 per image", "$0.30 per 1M tokens (input) · $2.50 (output)". */
export function priceText(price: Price, t: Translate): string {
  const per = price.per === 1 ? "" : `${price.per >= 1_000_000 ? `${price.per / 1_000_000}M` : price.per} `;
  const unit = `${t("per")} ${per}${t(`unit.${price.billing_unit}`)}`;
  const parts = Object.entries(price.prices).map(
    ([component, amount]) => `${formatMoney(amount, price.currency)} (${t(`component.${component}`)})`,
  );
  if (parts.length === 1 && ["image", "character"].includes(Object.keys(price.prices)[0])) {
    return `${formatMoney(Object.values(price.prices)[0], price.currency)} ${unit}`;
  }
  return `${parts.join(" · ")} ${unit}`;
}

/** One card per service: its models, each with billing type and price (used models first). */
export function ServiceCards({ pricing, usage, t }: { pricing: Pricing; usage: ReportRow[]; t: Translate }) {
  const current = pricing.prices.filter((p) => p.in_force);
  const byService = new Map<string, Set<string>>();
  for (const row of usage) {
    if (!byService.has(row.keys.service)) byService.set(row.keys.service, new Set());
    byService.get(row.keys.service)!.add(row.keys.model);
  }
  if (byService.size === 0) {
    for (const price of current) {
      const service = UNIT_SERVICE[price.billing_unit] ?? "other";
      if (!byService.has(service)) byService.set(service, new Set());
      byService.get(service)!.add(price.model);
    }
  }
  return (
    <div className="service-cards">
      {[...byService.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([service, models]) => (
        <article key={service} className="service-card" data-testid={`service-card-${service}`}>
          <h3>{t(`service.${service}`)}</h3>
          <ul>
            {[...models].sort().map((model) => {
              const price = current.find((p) => p.model === model);
              return (
                <li key={model}>
                  <strong>{modelName(model)}</strong>
                  <span className="muted">{price ? t(`unit.${price.billing_unit}`) : "—"}</span>
                  <bdi>{price ? priceText(price, t) : "—"}</bdi>
                </li>
              );
            })}
          </ul>
        </article>
      ))}
    </div>
  );
}

export function PriceList({ pricing, t }: { pricing: Pricing; t: Translate }) {
  return (
    <div className="table-wrap">
      <table className="price-list">
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
            <tr key={`${price.model}-${price.effective_from}`}>
              <td><bdi>{price.model}</bdi></td>
              <td>{t(`unit.${price.billing_unit}`)}</td>
              <td><bdi>{priceText(price, t)}</bdi></td>
              <td><bdi>{price.effective_from}</bdi></td>
              <td><a href={price.source} rel="noreferrer">{new URL(price.source).hostname}</a></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
