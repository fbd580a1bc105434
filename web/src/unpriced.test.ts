import { describe, expect, it } from "vitest";

import { addUnpriced, unpricedQuantities, unpricedText } from "./unpriced";

describe("what unpriced operations used", () => {
  it("names each non-zero quantity with its plural form", () => {
    expect(unpricedQuantities({ unpriced_tokens: 1200, unpriced_images: 0, unpriced_video_seconds: "0" }, "en"))
      .toEqual(["1,200 tokens"]);
    expect(unpricedQuantities({ unpriced_tokens: 1, unpriced_images: 2, unpriced_video_seconds: "4.500000",
                                unpriced_characters: 1 }, "en"))
      .toEqual(["1 token", "2 images", "4.5 seconds", "1 character"]);
    expect(unpricedQuantities({}, "en")).toEqual([]);
  });

  it("in Arabic, in Arabic-Indic digits and Arabic plural forms", () => {
    expect(unpricedQuantities({ unpriced_tokens: 1300 }, "ar")).toEqual(["١٬٣٠٠ رمز"]);
    expect(unpricedQuantities({ unpriced_images: 2, unpriced_video_seconds: "8" }, "ar")).toEqual(["صورتان", "٨ ثوانٍ"]);
    expect(unpricedQuantities({ unpriced_video_seconds: "2.5" }, "ar")).toEqual(["٢٫٥ ثانية"]);
  });

  it("follows the count of unpriced operations", () => {
    expect(unpricedText(2, { unpriced_tokens: 1200 }, "en")).toBe("2 unpriced operations · 1,200 tokens");
    expect(unpricedText(1, { unpriced_tokens: 1300 }, "ar")).toBe("عملية واحدة بلا سعر · ١٬٣٠٠ رمز");
    expect(unpricedText(1, {}, "en")).toBe("1 unpriced operation");
  });

  it("adds rows exactly", () => {
    expect(addUnpriced({ unpriced_tokens: 5, unpriced_video_seconds: "0.1" }, { unpriced_tokens: 7, unpriced_video_seconds: "0.2" }))
      .toEqual({ unpriced_tokens: 12, unpriced_images: 0, unpriced_video_seconds: "0.3", unpriced_characters: 0 });
  });
});
