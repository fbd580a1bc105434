import { describe, expect, it } from "vitest";

import { translator } from "../i18n";
import { budget } from "./fixtures";
import { budgetBar, MAX_SCALE } from "./progress";
import { scopeWords } from "./scope";
import { tightestBudget } from "./tightest";

describe("budgetBar", () => {
  it("measures decimal strings exactly, where floats would not", () => {
    // 0.1 + 0.2 of 0.3 is exactly all of it (as floats it would be 100.00000000000001 %).
    const bar = budgetBar(budget({ limit: "0.3" }, { spent: "0.1", reserved: "0.2" }));
    expect(bar.usedPercent).toBe(33.33);
    expect(bar.committedPercent).toBe(100);
    expect(bar.scale).toBe(100);
    expect(bar.spentWidth + bar.reservedWidth).toBe(100);
  });
  it("keeps the digits of tiny amounts and long limits", () => {
    const bar = budgetBar(budget({ limit: "1234567.000000000001" }, { spent: "617283.5000000000005" }));
    expect(bar.usedPercent).toBe(50);
  });
  it("stacks reserved after spent", () => {
    const bar = budgetBar(budget({ limit: "10" }, { spent: "4", reserved: "1.5" }));
    expect([bar.spentWidth, bar.reservedWidth]).toEqual([40, 15]);
    expect(bar.limitAt).toBeNull();
    expect(bar.level).toBe("ok");
  });
  it("stretches past the limit when spending passes it, and marks where the limit is", () => {
    const bar = budgetBar(budget({ limit: "10" }, { spent: "12.5", thresholds_crossed: ["50", "80", "100"] }));
    expect(bar.scale).toBe(125);
    expect(bar.spentWidth).toBe(100);
    expect(bar.limitAt).toBe(80);
    expect(bar.level).toBe("over");
    expect(bar.ticks.map((t) => [t.threshold, t.at, t.crossed])).toEqual([["50", 40, true], ["80", 64, true], ["100", 80, true]]);
  });
  it("stops stretching at twice the limit; reserved beyond it gets no width", () => {
    const bar = budgetBar(budget({ limit: "1" }, { spent: "5", reserved: "1" }));
    expect(bar.scale).toBe(MAX_SCALE);
    expect([bar.spentWidth, bar.reservedWidth]).toEqual([100, 0]);
    expect(bar.usedPercent).toBe(500);
  });
  it("makes room for a threshold past the limit, and leaves out one past the widest bar", () => {
    const bar = budgetBar(budget({ limit: "10", thresholds: ["80", "150", "900"] }, { spent: "2" }));
    expect(bar.scale).toBe(MAX_SCALE);
    expect(bar.ticks.map((t) => t.threshold)).toEqual(["80", "150"]);
    expect(bar.spentWidth).toBe(10);
  });
  it("marks crossed thresholds as the stream counted them, however the decimal is written", () => {
    const bar = budgetBar(budget({ thresholds: ["12.5", "50"] }, { spent: "2", thresholds_crossed: ["12.50"] }));
    expect(bar.ticks.map((t) => t.crossed)).toEqual([true, false]);
    expect(bar.level).toBe("warning");
  });
});

describe("scopeWords", () => {
  const en = translator("en");
  it("names the user and the model", () => {
    expect(scopeWords({ kind: "user", value: "amira", model: "gemini-2.5-pro" }, en)).toBe("user amira · model gemini-2.5-pro");
  });
  it("says all usage for the tenant, with the service when there is one", () => {
    expect(scopeWords({ kind: "tenant" }, en)).toBe("all usage");
    expect(scopeWords({ kind: "tenant", service: "image" }, en)).toBe("all usage · service Images");
  });
  it("names an attribute's key and value", () => {
    expect(scopeWords({ kind: "attribute", attribute: "project", value: "launch" }, en)).toBe("attribute project = launch");
  });
  it("speaks Arabic", () => {
    expect(scopeWords({ kind: "session", value: "s-1" }, translator("ar"))).toBe("الجلسة s-1");
  });
});

describe("tightestBudget", () => {
  it("is null when no budget applies", () => {
    expect(tightestBudget([])).toBeNull();
  });
  it("picks the budget with the least money left, not the smallest share", () => {
    const team = budget({ budget_id: "team", limit: "100" }, { remaining: "5" }); // 5 % left
    const user = budget({ budget_id: "user", limit: "2" }, { remaining: "1" }); // 50 % left, but only $1
    expect(tightestBudget([team, user])?.budget_id).toBe("user");
    expect(tightestBudget([user, team])?.budget_id).toBe("user");
  });
  it("compares decimal strings exactly", () => {
    const a = budget({ budget_id: "a" }, { remaining: "0.30000000000000001" });
    const b = budget({ budget_id: "b" }, { remaining: "0.3" });
    expect(tightestBudget([a, b])?.budget_id).toBe("b");
  });
  it("counts an overspent budget as the tightest", () => {
    const over = budget({ budget_id: "over" }, { remaining: "-0.5" });
    expect(tightestBudget([budget({ budget_id: "ok" }, { remaining: "0" }), over])?.budget_id).toBe("over");
  });
  it("on equal money left, picks the smaller share of its limit", () => {
    const big = budget({ budget_id: "big", limit: "100" }, { remaining: "1" });
    const small = budget({ budget_id: "small", limit: "2" }, { remaining: "1" });
    expect(tightestBudget([small, big])?.budget_id).toBe("big");
  });
});
