import type { UsageHealth } from "../api";
import { plural, type Locale, type Translate } from "../i18n";

/** What the stream counted of the tenant's usage; conflicting duplicates stand out. */
export function HealthPanel({ health, locale, t }: { health: UsageHealth; locale: Locale; t: Translate }) {
  const lines: [string, number, string][] = [
    ["priced", health.priced, plural("count.priced", health.priced, locale)],
    ["unpriced", health.unpriced, plural("count.unpriced", health.unpriced, locale)],
    ["duplicates", health.duplicates, plural("count.duplicates", health.duplicates, locale)],
    ["conflicts", health.conflicts, plural("count.conflicts", health.conflicts, locale)],
    ["dead_lettered", health.dead_lettered, plural("count.deadLetters", health.dead_lettered, locale)],
  ];
  return (
    <div className="health" data-testid="usage-health" data-conflicts={health.conflicts}>
      <ul className="health__counts">
        {lines.map(([name, count, text]) => (
          <li key={name} data-kind={name} data-count={count}
              className={name === "conflicts" && count > 0 ? "health__item health__item--bad" : "health__item"}>
            {text}
          </li>
        ))}
      </ul>
      <p className={health.conflicts > 0 ? "health__note health__note--bad" : "muted health__note"}>
        {health.conflicts > 0 ? t("conflictsHint") : t("healthOk")}
      </p>
    </div>
  );
}
