import { describe, expect, it } from "vitest";

import { EMPTY_KEY_DRAFT, keyBody, keyErrors } from "./form";

describe("keyBody", () => {
  it("sends the trimmed name and no expiry when the days are empty", () => {
    expect(keyBody({ ...EMPTY_KEY_DRAFT, name: "  laptop " })).toEqual({ name: "laptop" });
  });
  it("reads the days in Western or Arabic-Indic digits", () => {
    expect(keyBody({ name: "ci", days: "30" })).toEqual({ name: "ci", expires_in_days: 30 });
    expect(keyBody({ name: "ci", days: " ٩٠ " })).toEqual({ name: "ci", expires_in_days: 90 });
    expect(keyBody({ name: "ci", days: "-2" })).toEqual({ name: "ci", expires_in_days: -2 });
  });
  it("sends other text as typed, for the API to name the field", () => {
    expect(keyBody({ name: "ci", days: "soon" })).toEqual({ name: "ci", expires_in_days: "soon" });
  });
});

describe("keyErrors", () => {
  const problem = (errors: { field: string; reason: string }[], detail = "invalid request") => ({ detail, errors });
  it("puts each error under its field, both expiries under the days", () => {
    expect(keyErrors(problem([
      { field: "name", reason: "String should have at least 1 character" },
      { field: "expires_in_days", reason: "Input should be greater than or equal to 1" },
      { field: "expires_at", reason: "must be in the future" },
    ]))).toEqual({
      name: "String should have at least 1 character",
      days: "Input should be greater than or equal to 1; must be in the future",
    });
  });
  it("shows an answer without field errors under the form", () => {
    expect(keyErrors(problem([], "API key abc was revoked"))).toEqual({ form: "API key abc was revoked" });
    expect(keyErrors(problem([{ field: "secret", reason: "Extra inputs are not permitted" }])))
      .toEqual({ form: "Extra inputs are not permitted" });
  });
});
