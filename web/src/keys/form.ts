// The new-key form as data: the body it sends, and which field each of the API's 422 errors belongs to.
import type { KeyIn } from "../api";
import type { Problem } from "../sse";

export interface KeyDraft {
  name: string;
  days: string; // "" for no expiry; Western or Arabic-Indic digits
}

export type KeyField = keyof KeyDraft;
export type KeyErrors = Partial<Record<KeyField | "form", string>>;

export const EMPTY_KEY_DRAFT: KeyDraft = { name: "", days: "" };

const ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩";

/** "٣٠" or "30" as 30; other text is sent as typed, for the API to say what is wrong with it. */
function days(text: string): number | string {
  const western = text.trim().replace(/[٠-٩]/g, (digit) => String(ARABIC_INDIC.indexOf(digit)));
  return /^-?\d+$/.test(western) ? Number(western) : western;
}

/** The POST /v1/keys body: no expiry when the days are left empty. */
export function keyBody(draft: KeyDraft): KeyIn {
  const body: KeyIn = { name: draft.name.trim() };
  if (draft.days.trim()) body.expires_in_days = days(draft.days);
  return body;
}

const FIELDS: Record<string, KeyField> = { name: "name", expires_in_days: "days", expires_at: "days" };

/** Each error of a 422 answer under its field; the rest under the form. */
export function keyErrors(problem: Problem): KeyErrors {
  const errors: KeyErrors = {};
  for (const { field, reason } of problem.errors) {
    const key = FIELDS[field] ?? "form";
    errors[key] = errors[key] ? `${errors[key]}; ${reason}` : reason;
  }
  if (problem.errors.length === 0) errors.form = problem.detail;
  return errors;
}
