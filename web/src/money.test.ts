import { describe, expect, it } from "vitest";

import { addMoney, compareMoney, exactMoney, formatMoney, localDigits, percentOf } from "./money";

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
  it("shows at least two decimals, and six significant digits of an amount with more", () => {
    expect(formatMoney("1.351496")).toBe("$1.3515");
    expect(formatMoney("0.001496")).toBe("$0.001496");
    expect(formatMoney("0.0012345678")).toBe("$0.00123457");
    expect(formatMoney("0.019999999")).toBe("$0.02");
    expect(formatMoney("9.9999999")).toBe("$10.00");
    expect(formatMoney("123456.789")).toBe("$123,456.79");
    expect(formatMoney("-0.0000001")).toBe("-$0.0000001");
  });
  it("keeps every digit in the exact form (tooltips)", () => {
    expect(exactMoney("1.351496000")).toBe("$1.351496");
    expect(exactMoney("0.0012345678")).toBe("$0.0012345678");
    expect(exactMoney("2")).toBe("$2.00");
  });
  it("writes Arabic amounts in Arabic-Indic digits, as every other Arabic number", () => {
    expect(formatMoney("1234.5", "USD", "ar")).toBe("$١٬٢٣٤٫٥٠");
    expect(localDigits("12.5%", "en")).toBe("12.5%");
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
