import { describe, expect, it } from "vitest";

import { direction, messages, modelName } from "./i18n";

describe("i18n", () => {
  it("translates every English message into Arabic", () => {
    const missing = Object.keys(messages.en).filter((key) => !(messages.ar as Record<string, string>)[key]);
    expect(missing).toEqual([]);
  });
  it("lays Arabic out right to left and English left to right", () => {
    expect(direction("ar")).toBe("rtl");
    expect(direction("en")).toBe("ltr");
  });
  it("names models for people", () => {
    expect(modelName("imagen-4.0-generate")).toBe("Imagen 4.0 Generate");
  });
});
