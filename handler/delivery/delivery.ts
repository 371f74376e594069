import type { Clock } from "../clock";
import type { Meter } from "../telemetry/metrics";
import type { Pacer, SlotPriority } from "./pacing";
import type { PagerDutyClient } from "./pagerduty";
import type { PagerDutyRequest } from "../finding/pagerdutyEvent";
import type { SeverityLabel } from "../finding/model";

export type Delivery =
  | { outcome: "accepted"; status: number; attempts: number }
  | { outcome: "rejected"; status: number; errors: string[]; attempts: number }
  /** Not delivered in this invocation; the record goes back to its queue, to be tried again at `retryAt`. */
  | {
      outcome: "handBack";
      reason: string;
      rateLimited: boolean;
      status?: number;
      attempts: number;
      retryAt?: number;
      /**
       * The key's schedule had no slot left before the deadline: the event waits its turn (PagerDuty is not
       * failing), `retryAt` is the schedule's next slot, and each event behind it on the key one `spacingMs` later.
       */
      queued?: { spacingMs: number };
    };

export interface DeliveryOptions {
  client: PagerDutyClient;
  pacer: Pacer;
  clock: Clock;
  /** Uniform in [0, 1): the jitter source. */
  random: () => number;
  /** How long one request may take, kept free before the deadline. */
  requestTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long every sender with the key waits after a 429. */
  rateLimitHoldOffMs: number;
  meter: Meter;
}

export type Deliver = (
  request: PagerDutyRequest,
  deadline: number,
  priority?: SlotPriority,
) => Promise<Delivery>;

/**
 * A CRITICAL finding's page (its own, or its group's) goes before its key's other events, whatever its urgency (the
 * first deploy's backlog opens at low urgency): updates, resolves and pages of lower severities wait for it.
 */
export function priorityOf(event: { event_action: string }, label: SeverityLabel): SlotPriority {
  return event.event_action === "trigger" && label === "CRITICAL" ? "urgent" : "normal";
}

/**
 * Delivers one event before `deadline`: each attempt waits for its slot in the key's shared schedule, server
 * errors and timeouts are retried with exponential backoff and full jitter, a 429 stops the invocation.
 */
export function createDelivery(options: DeliveryOptions): Deliver {
  const { clock } = options;
  return async (request, deadline, priority = "normal") => {
    const latestStart = deadline - options.requestTimeoutMs;
    let attempts = 0;
    let lastFailure = "";
    let lastStatus: number | undefined;
    for (;;) {
      const sendAt = await options.pacer.acquire(latestStart, priority);
      if (sendAt === undefined) {
        if (attempts > 0) {
          const reason = `still failing after ${attempts} attempts (${lastFailure})`;
          return withStatus({ outcome: "handBack", reason, rateLimited: false, attempts }, lastStatus);
        }
        const { nextSlot, intervalMs } = options.pacer.queueAhead();
        return {
          outcome: "handBack",
          reason: "no send slot before the invocation's deadline",
          rateLimited: false,
          attempts,
          retryAt: nextSlot,
          queued: { spacingMs: intervalMs },
        };
      }
      await clock.sleep(sendAt - clock.now());
      attempts += 1;
      options.meter.count("PagerDutyRequests");
      if (attempts > 1) options.meter.count("PagerDutyRetries");
      const result = await options.client.send(request);
      if (result.kind === "rateLimited") options.meter.count("PagerDutyRateLimited");
      if (result.kind === "retryable" && result.status !== undefined && result.status >= 500)
        options.meter.count("PagerDutyServerErrors");
      switch (result.kind) {
        case "accepted":
          return { outcome: "accepted", status: result.status, attempts };
        case "rejected":
          return { outcome: "rejected", status: result.status, errors: result.errors, attempts };
        case "rateLimited": {
          const retryAt = clock.now() + options.rateLimitHoldOffMs;
          await options.pacer.holdOff(retryAt);
          return {
            outcome: "handBack",
            reason: "PagerDuty answered 429",
            rateLimited: true,
            status: 429,
            attempts,
            retryAt,
          };
        }
        case "retryable": {
          lastFailure = result.error;
          lastStatus = result.status;
          const ceiling = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** (attempts - 1));
          const backoff = ceiling * options.random();
          if (clock.now() + backoff > latestStart) {
            const reason = `still failing after ${attempts} attempts (${lastFailure})`;
            return withStatus({ outcome: "handBack", reason, rateLimited: false, attempts }, lastStatus);
          }
          await clock.sleep(backoff);
        }
      }
    }
  };
}

function withStatus(
  delivery: Extract<Delivery, { outcome: "handBack" }>,
  status: number | undefined,
): Delivery {
  return status === undefined ? delivery : { ...delivery, status };
}
