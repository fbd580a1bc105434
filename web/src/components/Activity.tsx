import type { Operation } from "../api";
import { formatCount, formatTime, modelName, type Locale, type Translate } from "../i18n";
import { formatMoney } from "../money";

function quantity(op: Operation, locale: Locale, t: Translate): string {
  switch (op.billing_unit) {
    case "tokens":
      return `${formatCount(op.input_tokens + op.output_tokens, locale)} ${t("unit.tokens")}`;
    case "images":
      return `${formatCount(op.images, locale)} ${t("unit.images")}`;
    case "video":
      return `${op.video_seconds} ${t("component.second")}`;
    default:
      return `${formatCount(op.characters, locale)} ${t("unit.characters")}`;
  }
}

/** The latest operations with the cost of each. */
export function Activity({ operations, locale, t }: { operations: Operation[]; locale: Locale; t: Translate }) {
  if (operations.length === 0) return <p className="muted">{t("noActivity")}</p>;
  return (
    <ul className="activity" data-testid="activity">
      {operations.map((op) => (
        <li key={op.event_id}>
          <span className={`badge badge--${op.service}`}>{t(`service.${op.service}`)}</span>
          <span className="activity__what">
            <strong>{modelName(op.model)}</strong> · {op.operation} · <bdi>{quantity(op, locale, t)}</bdi>
          </span>
          <span className="muted activity__when">{formatTime(op.occurred_at, locale)}</span>
          <bdi className="activity__cost">{formatMoney(op.cost, op.currency)}</bdi>
        </li>
      ))}
    </ul>
  );
}
