// The new-budget form as data: what the fields hold, the body they make, and which field
// each of the API's 422 errors belongs to.
import type { BudgetAction, BudgetIn, BudgetPeriod, ScopeKind } from "../api";
import type { Problem } from "../sse";

export interface BudgetDraft {
  name: string;
  kind: ScopeKind;
  value: string;
  attribute: string;
  service: string; // "" for any service
  model: string;
  period: BudgetPeriod;
  limit: string;
  thresholds: string; // "50, 80, 100"
  action: BudgetAction;
}

export type DraftField = keyof BudgetDraft;
/** Errors by the field they belong to; "form" for those that belong to none. */
export type DraftErrors = Partial<Record<DraftField | "form", string>>;

export const EMPTY_DRAFT: BudgetDraft = {
  name: "", kind: "tenant", value: "", attribute: "", service: "", model: "", period: "month",
  limit: "", thresholds: "50, 80, 100", action: "notify",
};

/** The POST /v1/budgets body. Money and percents stay text; the API checks them and names what is wrong. */
export function budgetBody(draft: BudgetDraft): BudgetIn {
  const scope: BudgetIn["scope"] = { kind: draft.kind };
  if (draft.kind !== "tenant") scope.value = draft.value.trim();
  if (draft.kind === "attribute") scope.attribute = draft.attribute.trim();
  if (draft.service) scope.service = draft.service;
  if (draft.model.trim()) scope.model = draft.model.trim();
  return {
    name: draft.name.trim(),
    scope,
    period: draft.period,
    limit: draft.limit.trim(),
    thresholds: draft.thresholds.split(/[,،\s]+/).filter(Boolean),
    action: draft.action,
  };
}

const FIELDS: Record<string, DraftField> = {
  name: "name", period: "period", limit: "limit", thresholds: "thresholds", action: "action",
  "scope.kind": "kind", "scope.value": "value", "scope.attribute": "attribute",
  "scope.service": "service", "scope.model": "model",
};

/** Each error of a 422 answer under its field ("thresholds.1" under thresholds; the scope's own checks under its value). */
export function draftErrors(problem: Problem, draft: BudgetDraft): DraftErrors {
  const errors: DraftErrors = {};
  for (const { field, reason } of problem.errors) {
    const path = field.split(".");
    const key = FIELDS[path.slice(0, 2).join(".")] ?? FIELDS[path[0]]
      ?? (field === "scope" ? (draft.kind === "tenant" ? "kind" : "value") : "form");
    errors[key] = errors[key] ? `${errors[key]}; ${reason}` : reason;
  }
  if (problem.errors.length === 0) errors.form = problem.detail;
  return errors;
}
