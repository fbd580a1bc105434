import { describe, expect, it } from "vitest";

import { HttpError } from "../sse";
import { bearerHeaders } from "./useSessionTotals";

describe("bearerHeaders", () => {
  it("sends the given portal token", async () => {
    expect(await bearerHeaders("mpt_a.b").headers()).toEqual({ Authorization: "Bearer mpt_a.b" });
  });
  it("fetches a token at start and again only after a 401", async () => {
    let minted = 0;
    const auth = bearerHeaders(undefined, async () => `mpt_${++minted}`);
    expect(await auth.headers()).toEqual({ Authorization: "Bearer mpt_1" });
    auth.failed(new TypeError("network down"));
    expect(await auth.headers()).toEqual({ Authorization: "Bearer mpt_1" });
    auth.failed(new HttpError(401, '{"detail": "portal token expired: ask the app for a new one"}'));
    expect(await auth.headers()).toEqual({ Authorization: "Bearer mpt_2" });
  });
  it("sends nothing without a credential", async () => {
    expect(await bearerHeaders(undefined).headers()).toEqual({});
  });
});
