import { describe, expect, it } from "vitest";

import { addMoney, compareMoney, formatMoney, percentOf } from "./money";

describe("formatMoney", () => {
  it("keeps every digit of a tiny cost", () => {
    expect(formatMoney("0.0000000625")).toBe("$0.0000000625");
  });
  it("shows at least two decimals and groups thousands", () => {
    expect(formatMoney("1234567.5")).toBe("$1,234,567.50");
    expect(formatMoney("0")).toBe("$0.00");
  });
  it("drops trailing zeros the engine pads with", () => {
    expect(formatMoney("0.120000000000")).toBe("$0.12");
  });
  it("names a currency other than USD", () => {
    expect(formatMoney("3.5", "EUR")).toBe("EUR 3.50");
  });
});

describe("addMoney", () => {
  it("adds decimal strings exactly, where floats would not", () => {
    expect(addMoney("0.1", "0.2")).toBe("0.3");
    expect(addMoney("1.351496", "0.000004")).toBe("1.3515");
    expect(addMoney("0.05", "-0.2")).toBe("-0.15");
  });
});

describe("compareMoney", () => {
  it("compares decimal strings of any length exactly", () => {
    expect(compareMoney("0.30000000000000001", "0.3")).toBe(1);
    expect(compareMoney("0.3", "0.300")).toBe(0);
    expect(compareMoney("-1", "0.5")).toBe(-1);
  });
});

describe("percentOf", () => {
  it("divides in integers, to two decimals rounded down", () => {
    expect(percentOf("1", "3")).toBe(33.33);
    expect(percentOf("0.3", "0.3")).toBe(100);
    expect(percentOf("25", "10")).toBe(250);
  });
  it("is 0 of a limit that is not positive", () => {
    expect(percentOf("1", "0")).toBe(0);
  });
});
