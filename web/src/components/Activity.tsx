import type { Operation } from "../api";
import { formatTime, modelName, plural, type Locale, type Translate } from "../i18n";
import { localDigits, trimZeros } from "../money";
import { Money, UnpricedBadge } from "./Money";

/** Every token an operation counts: input (cached included), output, thinking and tool use. */
export function operationTokens(op: Pick<Operation, "input_tokens" | "output_tokens" | "thinking_tokens"
  | "tool_use_prompt_tokens">): number {
  return op.input_tokens + op.output_tokens + (op.thinking_tokens ?? 0) + (op.tool_use_prompt_tokens ?? 0);
}

function quantity(op: Operation, locale: Locale): string {
  switch (op.billing_unit) {
    case "tokens":
      return plural("count.tokens", operationTokens(op), locale);
    case "images":
      return plural("count.images", op.images, locale);
    case "video": {
      const exact = trimZeros(op.video_seconds);
      return plural("count.seconds", Number(exact), locale, localDigits(exact, locale));
    }
    default:
      return plural("count.characters", op.characters, locale);
  }
}

/** The latest operations with the cost of each; one the catalog could not price is marked, never $0.00. */
export function Activity({ operations, locale, t }: { operations: Operation[]; locale: Locale; t: Translate }) {
  if (operations.length === 0) return <p className="muted">{t("noActivity")}</p>;
  return (
    <ul className="activity" data-testid="activity">
      {operations.map((op) => (
        <li key={op.event_id} data-pricing={op.pricing_status}>
          <span className={`badge badge--${op.service}`}>{t(`service.${op.service}`)}</span>
          <span className="activity__what">
            <strong>{modelName(op.model)}</strong> · {op.operation} · <bdi>{quantity(op, locale)}</bdi>
          </span>
          <span className="muted activity__when">{formatTime(op.occurred_at, locale)}</span>
          <span className="activity__cost">
            {op.pricing_status === "unpriced"
              ? <UnpricedBadge reason={op.unpriced_reason} locale={locale} t={t} />
              : <Money value={op.cost} currency={op.currency} locale={locale} />}
          </span>
        </li>
      ))}
    </ul>
  );
}
