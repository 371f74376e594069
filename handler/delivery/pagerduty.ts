import type { Clock } from "../clock";
import type { PagerDutyRequest } from "../finding/pagerdutyEvent";

export const EVENTS_URLS = {
  us: "https://events.pagerduty.com/v2/enqueue",
  eu: "https://events.eu.pagerduty.com/v2/enqueue",
} as const;
export type PagerDutyRegion = keyof typeof EVENTS_URLS;

export interface HttpAnswer {
  status: number;
  body: string;
}
/** One POST of a JSON body; the benchmark replaces it with an in-process call to the stand-in. */
export type Transport = (request: { url: string; body: string; signal: AbortSignal }) => Promise<HttpAnswer>;

export const fetchTransport: Transport = async ({ url, body, signal }) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal,
  });
  return { status: response.status, body: await response.text() };
};

export type SendResult =
  | { kind: "accepted"; status: number }
  | { kind: "rejected"; status: number; errors: string[] }
  | { kind: "rateLimited"; status: number }
  | { kind: "retryable"; status?: number; error: string };

export interface PagerDutyClient {
  send(request: PagerDutyRequest): Promise<SendResult>;
}

export interface PagerDutyClientOptions {
  url: string;
  transport: Transport;
  clock: Clock;
  timeoutMs: number;
}

/** Sends one event once and says what PagerDuty's answer means for the sender. */
export function createPagerDutyClient(options: PagerDutyClientOptions): PagerDutyClient {
  return {
    async send(request) {
      const abort = new AbortController();
      const timerStop = new AbortController();
      let timedOut = false;
      void options.clock.sleep(options.timeoutMs, timerStop.signal).then(() => {
        if (timerStop.signal.aborted) return;
        timedOut = true;
        abort.abort();
      });
      try {
        const answer = await Promise.race([
          options.transport({ url: options.url, body: JSON.stringify(request), signal: abort.signal }),
          new Promise<never>((_, reject) =>
            abort.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
          ),
        ]);
        return classify(answer);
      } catch (error) {
        const reason = timedOut ? `no answer within ${options.timeoutMs} ms` : describeNetworkError(error);
        return { kind: "retryable", error: reason };
      } finally {
        timerStop.abort();
      }
    },
  };
}

function classify(answer: HttpAnswer): SendResult {
  const { status } = answer;
  if (status === 202) return { kind: "accepted", status };
  if (status === 429) return { kind: "rateLimited", status };
  // 400 and 413 describe the event itself: sending it again cannot succeed.
  if (status === 400 || status === 413) return { kind: "rejected", status, errors: errorsOf(answer.body) };
  return { kind: "retryable", status, error: `HTTP ${status}` };
}

function errorsOf(body: string): string[] {
  try {
    const parsed = JSON.parse(body) as { errors?: unknown; message?: unknown };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) return parsed.errors.map(String);
    if (typeof parsed.message === "string") return [parsed.message];
  } catch {
    // Not JSON: the raw text is the best description there is.
  }
  return [body.slice(0, 500) || "no error description"];
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail === undefined ? error.message : `${error.message} (${detail})`;
}
