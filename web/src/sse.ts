// Server-sent events over fetch, so the API key travels in the Authorization header
// (EventSource cannot send headers, and a key in the URL would end up in logs).

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Splits an SSE byte stream's text into messages; feed it chunks as they arrive. */
export class SseParser {
  private buffer = "";

  feed(chunk: string): SseMessage[] {
    this.buffer += chunk.replace(/\r\n?/g, "\n");
    const messages: SseMessage[] = [];
    let end: number;
    while ((end = this.buffer.indexOf("\n\n")) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message = parseBlock(block);
      if (message) messages.push(message);
    }
    return messages;
  }
}

function parseBlock(block: string): SseMessage | null {
  let event = "message";
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  return data.length ? { event, data: data.join("\n"), id } : null;
}

/** Reads `url` as an event stream until `signal` aborts; throws when the connection fails. */
export async function streamEvents(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  onMessage: (message: SseMessage) => void,
  onOpen?: () => void,
): Promise<void> {
  const response = await fetch(url, { headers: { ...headers, Accept: "text/event-stream" }, signal });
  if (!response.ok || !response.body) {
    throw new HttpError(response.status, await response.text());
  }
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.feed(value).forEach(onMessage);
  }
}

export interface StreamHandlers {
  onMessage: (message: SseMessage) => void;
  /** Each time the stream (re)connects: a reader can fetch what it missed meanwhile. */
  onOpen?: () => void;
  onError?: (error: unknown) => void;
}

/**
 * Follows `url` as an event stream until `signal` aborts: after a loss it reconnects,
 * waiting 0.5 s, then twice as long each time up to 10 s, and 0.5 s again once connected.
 * `headers` may be a function, asked again before each connection (a portal token that expired).
 */
export async function followEvents(
  url: string,
  headers: Record<string, string> | (() => Promise<Record<string, string>>),
  signal: AbortSignal,
  handlers: StreamHandlers,
  firstDelayMs = 500,
): Promise<void> {
  let delay = firstDelayMs;
  while (!signal.aborted) {
    try {
      const current = typeof headers === "function" ? await headers() : headers;
      await streamEvents(url, current, signal, handlers.onMessage, () => {
        delay = firstDelayMs;
        handlers.onOpen?.();
      });
    } catch (error) {
      if (signal.aborted) return;
      handlers.onError?.(error);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

/** An error answer of the API: {detail, errors: [{field, reason}]}. */
export interface Problem {
  detail: string;
  errors: { field: string; reason: string }[];
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }

  /** The body as the API's error answer, or null when it is something else. */
  get problem(): Problem | null {
    try {
      const parsed = JSON.parse(this.body) as Partial<Problem>;
      if (typeof parsed.detail !== "string") return null;
      return { detail: parsed.detail, errors: Array.isArray(parsed.errors) ? parsed.errors : [] };
    } catch {
      return null;
    }
  }
}
