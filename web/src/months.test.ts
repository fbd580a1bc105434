import { describe, expect, it } from "vitest";

import { formatMonth } from "./i18n";
import { recentMonths } from "./months";

describe("the statements' months", () => {
  it("are this month and the ones before it, across a year's end, in the API's form", () => {
    expect(recentMonths("2026-02", 4)).toEqual(["2026-02", "2026-01", "2025-12", "2025-11"]);
    expect(recentMonths("2026-12", 1)).toEqual(["2026-12"]);
    expect(recentMonths("2026-12", 24).at(-1)).toBe("2025-01");
  });

  it("are named in the page's language and digits", () => {
    expect(formatMonth("2026-12", "en")).toBe("December 2026");
    expect(formatMonth("2026-12", "ar")).toBe("ديسمبر ٢٠٢٦");
  });
});
