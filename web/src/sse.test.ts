import { describe, expect, it } from "vitest";

import { SseParser } from "./sse";

describe("SseParser", () => {
  it("yields named events with their id once a blank line ends them", () => {
    const parser = new SseParser();
    expect(parser.feed('event: totals\r\nid: 3\r\ndata: {"operations":')).toEqual([]);
    expect(parser.feed('3}\r\n\r\n')).toEqual([{ event: "totals", id: "3", data: '{"operations":3}' }]);
  });
  it("skips comments such as keep-alive pings", () => {
    expect(new SseParser().feed(": ping - 2026-01-01\n\n")).toEqual([]);
  });
  it("joins multi-line data and defaults the event name", () => {
    expect(new SseParser().feed("data: a\ndata: b\n\n")).toEqual([{ event: "message", data: "a\nb", id: undefined }]);
  });
});
