// A budget's scope in words: "user amira · model gemini-2.5-pro", "all usage".
import type { BudgetScope } from "../api";
import type { Translate } from "../i18n";

export interface ScopePart {
  /** Translated word for what is counted ("user", "model"). */
  label: string;
  /** The id it names, shown as is (null for "all usage"). */
  value: string | null;
}

export function scopeParts(scope: BudgetScope, t: Translate): ScopePart[] {
  const parts: ScopePart[] = [];
  if (scope.kind === "tenant") parts.push({ label: t("scope.tenant"), value: null });
  else if (scope.kind === "attribute") parts.push({ label: t("scope.attribute"), value: `${scope.attribute} = ${scope.value}` });
  else parts.push({ label: t(`scope.${scope.kind}`), value: scope.value ?? "" });
  if (scope.service) parts.push({ label: t("scope.service"), value: t(`service.${scope.service}`) });
  if (scope.model) parts.push({ label: t("scope.model"), value: scope.model });
  return parts;
}

export function scopeWords(scope: BudgetScope, t: Translate): string {
  return scopeParts(scope, t)
    .map(({ label, value }) => (value === null ? label : `${label} ${value}`))
    .join(" · ");
}
