import { afterEach, describe, expect, it, vi } from "vitest";

import { followEvents, HttpError, SseParser, type SseMessage } from "./sse";

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

describe("followEvents", () => {
  afterEach(() => vi.unstubAllGlobals());

  function eventStream(text: string): Response {
    return new Response(new Blob([text]).stream(), { status: 200, headers: { "Content-Type": "text/event-stream" } });
  }

  it("reconnects after a failure and after the stream ends, announcing each connection", async () => {
    const answers = [
      () => Promise.reject(new TypeError("network down")),
      () => Promise.resolve(eventStream("event: alert\ndata: 1\n\n")),
      () => Promise.resolve(new Response("no such route", { status: 404 })),
      () => Promise.resolve(eventStream("event: alert\ndata: 2\n\n")),
    ];
    const abort = new AbortController();
    const log: string[] = [];
    const fetch = vi.fn(() => {
      const answer = answers.shift();
      if (!answers.length) setTimeout(() => abort.abort(), 0);
      return answer!();
    });
    vi.stubGlobal("fetch", fetch);
    await followEvents("/v1/alerts/events", { Authorization: "Bearer k" }, abort.signal, {
      onOpen: () => log.push("open"),
      onMessage: (message: SseMessage) => log.push(`${message.event} ${message.data}`),
      onError: (error) => log.push(error instanceof HttpError ? `http ${error.status}` : "error"),
    }, 1);
    expect(log).toEqual(["error", "open", "alert 1", "http 404", "open", "alert 2"]);
    expect(fetch.mock.calls[0]).toEqual(["/v1/alerts/events", expect.objectContaining({
      headers: { Authorization: "Bearer k", Accept: "text/event-stream" },
    })]);
  });
});

describe("HttpError", () => {
  it("reads the API's error answer, field by field", () => {
    const body = JSON.stringify({ detail: "invalid request", errors: [{ field: "limit", reason: "must be > 0" }] });
    expect(new HttpError(422, body).problem).toEqual({ detail: "invalid request", errors: [{ field: "limit", reason: "must be > 0" }] });
  });
  it("has no problem when the body is not one", () => {
    expect(new HttpError(502, "<html>bad gateway</html>").problem).toBeNull();
  });
});
