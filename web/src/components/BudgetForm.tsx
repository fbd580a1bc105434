import { useState, type ReactNode } from "react";

import { ACTIONS, PERIODS, SCOPE_KINDS, SERVICES, type ApiClient } from "../api";
import { budgetBody, draftErrors, EMPTY_DRAFT, type BudgetDraft, type DraftErrors, type DraftField } from "../budgets/form";
import type { Translate } from "../i18n";
import { HttpError } from "../sse";

/** A new budget: name, scope, period, limit, thresholds, action; the API's 422 errors beside their fields. */
export function BudgetForm({ api, t, onCreated }: { api: ApiClient; t: Translate; onCreated: () => void }) {
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState<BudgetDraft>(EMPTY_DRAFT);
  const [errors, setErrors] = useState<DraftErrors>({});
  const [busy, setBusy] = useState(false);
  const set = (field: DraftField) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [field]: e.target.value }));

  async function submit() {
    setBusy(true);
    try {
      await api.createBudget(budgetBody(draft));
      setDraft(EMPTY_DRAFT);
      setErrors({});
      setOpen(false);
      onCreated();
    } catch (e) {
      const problem = e instanceof HttpError ? e.problem : null;
      setErrors(problem ? draftErrors(problem, draft) : { form: String(e) });
    } finally {
      setBusy(false);
    }
  }

  if (!open) {
    return (
      <button type="button" className="budget-form__open" onClick={() => setOpen(true)} data-testid="budget-new">
        + {t("newBudget")}
      </button>
    );
  }
  const field = (name: DraftField, label: string, control: ReactNode, hint?: string) => (
    <label className={`field${errors[name] ? " field--invalid" : ""}`} data-field={name}>
      <span className="field__label">{label}</span>
      {control}
      {hint && !errors[name] && <span className="field__hint">{hint}</span>}
      {errors[name] && <span className="field__error" role="alert" data-testid={`error-${name}`}>{errors[name]}</span>}
    </label>
  );
  return (
    <form className="budget-form" data-testid="budget-form" noValidate
          onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <h3>{t("newBudget")}</h3>
      <div className="budget-form__grid">
        {field("name", t("budgetName"), <input value={draft.name} onChange={set("name")} maxLength={128} name="name" />)}
        {field("kind", t("scopeKind"), (
          <select value={draft.kind} onChange={set("kind")} name="kind">
            {SCOPE_KINDS.map((kind) => <option key={kind} value={kind}>{t(`scopeKind.${kind}`)}</option>)}
          </select>
        ))}
        {draft.kind === "attribute" && field("attribute", t("attributeKey"),
          <input value={draft.attribute} onChange={set("attribute")} dir="ltr" name="attribute" />)}
        {draft.kind !== "tenant" && field("value", t(`valueLabel.${draft.kind}`),
          <input value={draft.value} onChange={set("value")} dir="ltr" name="value" />)}
        {field("service", t("scopeService"), (
          <select value={draft.service} onChange={set("service")} name="service">
            <option value="">{t("anyService")}</option>
            {SERVICES.map((service) => <option key={service} value={service}>{t(`service.${service}`)}</option>)}
          </select>
        ))}
        {field("model", t("scopeModel"), <input value={draft.model} onChange={set("model")} dir="ltr" name="model" />)}
        {field("period", t("period"), (
          <select value={draft.period} onChange={set("period")} name="period">
            {PERIODS.map((period) => <option key={period} value={period}>{t(`period.${period}`)}</option>)}
          </select>
        ))}
        {field("limit", t("limit"),
          <input value={draft.limit} onChange={set("limit")} inputMode="decimal" dir="ltr" name="limit" placeholder="100.00" />)}
        {field("thresholds", t("thresholds"),
          <input value={draft.thresholds} onChange={set("thresholds")} dir="ltr" name="thresholds" />, t("thresholdsHint"))}
        {field("action", t("action"), (
          <select value={draft.action} onChange={set("action")} name="action">
            {ACTIONS.map((action) => (
              <option key={action} value={action}>{t(`action.${action}`)} — {t(`actionHint.${action}`)}</option>
            ))}
          </select>
        ))}
      </div>
      {errors.form && <p className="notice notice--error" role="alert" data-testid="error-form">{errors.form}</p>}
      <div className="budget-form__buttons">
        <button type="submit" disabled={busy} data-testid="budget-create">{busy ? t("creating") : t("create")}</button>
        <button type="button" className="secondary" onClick={() => { setOpen(false); setErrors({}); }}>{t("cancel")}</button>
      </div>
    </form>
  );
}
