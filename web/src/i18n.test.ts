import { describe, expect, it } from "vitest";

import { ACTIONS, ALERT_KINDS, PERIODS, SCOPE_KINDS } from "./api";
import { direction, formatPercent, formatPeriod, messages, modelName } from "./i18n";

// Every key the code asks for: the literal t("…") calls in src/, and the keys built from
// the API's enumerations (t(`scope.${kind}`) and the like).
const sources = import.meta.glob(["./**/*.ts", "./**/*.tsx", "!./**/*.test.ts"], {
  query: "?raw", import: "default", eager: true,
}) as Record<string, string>;
const literalKeys = Object.values(sources).flatMap((text) => [...text.matchAll(/\bt\("([^"]+)"\)/g)].map((m) => m[1]));

const builtKeys = [
  ...SCOPE_KINDS.flatMap((kind) => [`scope.${kind}`, `scopeKind.${kind}`]),
  ...SCOPE_KINDS.filter((kind) => kind !== "tenant").map((kind) => `valueLabel.${kind}`),
  ...PERIODS.map((period) => `period.${period}`),
  ...ACTIONS.flatMap((action) => [`action.${action}`, `actionHint.${action}`]),
  ...ALERT_KINDS.flatMap((kind) => [`alertKind.${kind}`, `alertTitle.${kind}`]),
];

describe("i18n", () => {
  it("translates every English message into Arabic, and has no Arabic message without English", () => {
    const missing = Object.keys(messages.en).filter((key) => !(messages.ar as Record<string, string>)[key]);
    expect(missing).toEqual([]);
    expect(Object.keys(messages.ar).filter((key) => !(messages.en as Record<string, string>)[key])).toEqual([]);
  });
  it("has both languages for every key the code uses", () => {
    const used = [...new Set([...literalKeys, ...builtKeys])];
    expect(used.length).toBeGreaterThan(50);
    for (const locale of ["en", "ar"] as const) {
      const table = messages[locale] as Record<string, string>;
      expect(used.filter((key) => !table[key]), `missing in ${locale}`).toEqual([]);
    }
  });
  it("lays Arabic out right to left and English left to right", () => {
    expect(direction("ar")).toBe("rtl");
    expect(direction("en")).toBe("ltr");
  });
  it("names models for people", () => {
    expect(modelName("imagen-4.0-generate")).toBe("Imagen 4.0 Generate");
  });
  it("shows a budget period in UTC calendar days, its exclusive end as the last day", () => {
    expect(formatPeriod("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z", "en")).toBe("1 Jun 2026 – 30 Jun 2026");
    expect(formatPeriod("2026-06-03T00:00:00Z", "2026-06-04T00:00:00Z", "en")).toBe("3 Jun 2026");
    expect(formatPeriod("2026-06-01T00:00:00Z", null, "en")).toBe("Lifetime");
    expect(formatPeriod("2026-06-01T00:00:00Z", null, "ar")).toBe("بلا مدة");
  });
  it("formats percentages in each language's digits", () => {
    expect(formatPercent(48.5, "en")).toBe("48.5%");
    expect(formatPercent(120, "ar").replace(/\u061c/g, "")).toBe("١٢٠٪"); // ICU may add an Arabic letter mark
  });
});
