// A budget's scope in words: "user amira · model gemini-2.5-pro", "all usage".
import type { BudgetScope } from "../api";
import type { Translate } from "../i18n";

export interface ScopePart {
  /** Translated word for what is counted ("user", "model"). */
  label: string;
  /** What it names (null for "all usage"). */
  value: string | null;
  /** Whether `value` is an id, shown as is, rather than a translated word. */
  isId: boolean;
}

export function scopeParts(scope: BudgetScope, t: Translate): ScopePart[] {
  const parts: ScopePart[] = [];
  if (scope.kind === "tenant") parts.push({ label: t("scope.tenant"), value: null, isId: false });
  else if (scope.kind === "attribute") {
    parts.push({ label: t("scope.attribute"), value: `${scope.attribute} = ${scope.value}`, isId: true });
  } else parts.push({ label: t(`scope.${scope.kind}`), value: scope.value ?? "", isId: true });
  if (scope.service) parts.push({ label: t("scope.service"), value: t(`service.${scope.service}`), isId: false });
  if (scope.model) parts.push({ label: t("scope.model"), value: scope.model, isId: true });
  return parts;
}

export function scopeWords(scope: BudgetScope, t: Translate): string {
  return scopeParts(scope, t)
    .map(({ label, value }) => (value === null ? label : `${label} ${value}`))
    .join(" · ");
}
