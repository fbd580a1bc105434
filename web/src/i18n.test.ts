import { describe, expect, it } from "vitest";

import { ACTIONS, ALERT_KINDS, KEY_STATUSES, PERIODS, SCOPE_KINDS, SERVICES } from "./api";
import {
  componentLabel, direction, formatPercent, formatPeriod, messages, modelName, plural, pluralCategories, translator,
} from "./i18n";

// Every key the code asks for: the literal t("…") calls in src/, and the keys built from
// the API's enumerations (t(`scope.${kind}`) and the like).
const sources = import.meta.glob(["./**/*.ts", "./**/*.tsx", "!./**/*.test.ts"], {
  query: "?raw", import: "default", eager: true,
}) as Record<string, string>;
const literalKeys = Object.values(sources).flatMap((text) => [...text.matchAll(/\bt\("([^"]+)"\)/g)].map((m) => m[1]));
// Counts: plural("count.x", n, locale) needs one text per plural category of each language.
const pluralKeys = [...new Set(Object.values(sources).flatMap(
  (text) => [...text.matchAll(/\bplural\("([^"]+)"/g)].map((m) => m[1])))];

// Every price component any catalog file names (in `prices` and long-context `prices`
// tables), read from the catalogs the pricer loads: the price list shows each by name.
const catalogs = import.meta.glob("../../meterstream/pricing/catalogs/*.toml", {
  query: "?raw", import: "default", eager: true,
}) as Record<string, string>;
const catalogComponents = [...new Set(Object.values(catalogs).flatMap((text) =>
  [...text.matchAll(/\bprices = \{([^}]*)\}/g)].flatMap((m) =>
    [...m[1].matchAll(/"?([a-z_]+(?:@[a-z0-9]+)?)"?\s*=/g)].map((c) => c[1]))))];
const units = ["tokens", "images", "video", "characters"];

const builtKeys = [
  ...SCOPE_KINDS.flatMap((kind) => [`scope.${kind}`, `scopeKind.${kind}`]),
  ...SCOPE_KINDS.filter((kind) => kind !== "tenant").map((kind) => `valueLabel.${kind}`),
  ...PERIODS.map((period) => `period.${period}`),
  ...ACTIONS.flatMap((action) => [`action.${action}`, `actionHint.${action}`]),
  ...ALERT_KINDS.flatMap((kind) => [`alertKind.${kind}`, `alertTitle.${kind}`]),
  ...SERVICES.map((service) => `service.${service}`),
  ...KEY_STATUSES.map((status) => `keys.status.${status}`),
  ...units.map((unit) => `unit.${unit}`),
  ...["input", "output", "thinking", "toolUse", "cached"].map((kind) => `tokens.${kind}`),
  ...["24h", "7d", "30d"].map((range) => `range.${range}`),
  ...catalogComponents.map((component) => `component.${component.split("@")[0]}`),
];

const isPluralForm = (key: string) => pluralKeys.some((base) => key.startsWith(`${base}.`));

describe("i18n", () => {
  it("translates every English message into Arabic, and has no Arabic message without English", () => {
    const en = Object.keys(messages.en).filter((key) => !isPluralForm(key));
    const ar = Object.keys(messages.ar).filter((key) => !isPluralForm(key));
    expect(en.filter((key) => !(messages.ar as Record<string, string>)[key])).toEqual([]);
    expect(ar.filter((key) => !(messages.en as Record<string, string>)[key])).toEqual([]);
  });
  it("has every plural form of every count in both languages", () => {
    expect(pluralKeys.length).toBeGreaterThan(4);
    for (const locale of ["en", "ar"] as const) {
      const table = messages[locale] as Record<string, string>;
      const missing = pluralKeys.flatMap((base) => pluralCategories(locale).map((c) => `${base}.${c}`))
        .filter((key) => !table[key]);
      expect(missing, `missing in ${locale}`).toEqual([]);
    }
  });
  it("names every price component of every catalog in both languages", () => {
    expect(catalogComponents).toEqual(expect.arrayContaining(["input", "cached_audio_input", "second@4k", "character"]));
    for (const locale of ["en", "ar"] as const) {
      const t = translator(locale);
      const raw = catalogComponents.filter((c) => componentLabel(c, t).includes("component.") || componentLabel(c, t).includes("_"));
      expect(raw, `raw component names in ${locale}`).toEqual([]);
    }
    expect(componentLabel("second@1080p", translator("en"))).toBe("second at 1080p");
  });
  it("counts in proper plural forms, in each language's digits", () => {
    expect(plural("count.tokens", 1, "en")).toBe("1 token");
    expect(plural("count.tokens", 1200, "en")).toBe("1,200 tokens");
    expect(plural("count.images", 2, "ar")).toBe("صورتان");
    expect(plural("count.images", 3, "ar")).toBe("٣ صور");
    expect(plural("count.images", 11, "ar")).toBe("١١ صورة");
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
