import { describe, expect, it } from "vitest";

import { budgetBody, draftErrors, EMPTY_DRAFT } from "./form";

describe("budgetBody", () => {
  it("sends money and thresholds as text, a tenant scope without value", () => {
    expect(budgetBody({ ...EMPTY_DRAFT, name: " Team ", limit: "10.50", value: "left over" })).toEqual({
      name: "Team", scope: { kind: "tenant" }, period: "month", limit: "10.50",
      thresholds: ["50", "80", "100"], action: "notify",
    });
  });
  it("names the attribute, the service and the model when given", () => {
    const body = budgetBody({
      ...EMPTY_DRAFT, kind: "attribute", attribute: "project", value: "launch", service: "image",
      model: "imagen-4.0-generate", thresholds: "25،75 ,  100", action: "block", period: "day",
    });
    expect(body.scope).toEqual({ kind: "attribute", attribute: "project", value: "launch", service: "image",
                                 model: "imagen-4.0-generate" });
    expect(body.thresholds).toEqual(["25", "75", "100"]); // the Arabic comma separates too
    expect([body.action, body.period]).toEqual(["block", "day"]);
  });
});

describe("draftErrors", () => {
  const problem = (errors: { field: string; reason: string }[]) => ({ detail: "invalid request", errors });
  it("puts each error under its field", () => {
    const errors = draftErrors(problem([
      { field: "limit", reason: "Input should be greater than 0" },
      { field: "thresholds.1", reason: "Input should be less than or equal to 1000" },
      { field: "scope.attribute", reason: "too long" },
      { field: "name", reason: "too short" },
    ]), EMPTY_DRAFT);
    expect(errors).toEqual({ limit: "Input should be greater than 0", thresholds: "Input should be less than or equal to 1000",
                             attribute: "too long", name: "too short" });
  });
  it("puts the scope's own check under its value, or its kind for the tenant", () => {
    const needsValue = problem([{ field: "scope", reason: "a user scope needs a value" }]);
    expect(draftErrors(needsValue, { ...EMPTY_DRAFT, kind: "user" })).toEqual({ value: "a user scope needs a value" });
    expect(draftErrors(needsValue, EMPTY_DRAFT)).toEqual({ kind: "a user scope needs a value" });
  });
  it("joins two errors of one field, and keeps the others for the form", () => {
    const errors = draftErrors(problem([
      { field: "thresholds.0", reason: "a" }, { field: "thresholds.2", reason: "b" }, { field: "currency", reason: "c" },
    ]), EMPTY_DRAFT);
    expect(errors).toEqual({ thresholds: "a; b", form: "c" });
  });
  it("shows the detail when no field is named", () => {
    expect(draftErrors({ detail: "budget limit reached", errors: [] }, EMPTY_DRAFT)).toEqual({ form: "budget limit reached" });
  });
});
