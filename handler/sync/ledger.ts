// What the webhook endpoint remembers between deliveries: which events it applied (PagerDuty delivers at least
// once, and a captured request could be replayed), and which finding an incident belongs to (a note on an incident
// names only the incident).

/** What taking an event found: free to apply, applied already, or being applied by another invocation right now. */
export type LedgerClaim = "claimed" | "applied" | "inProgress";

export interface WebhookLedger {
  /** Takes an event for processing, unless it was applied already or another invocation is applying it. */
  claim(eventId: string, now: number): Promise<LedgerClaim>;
  /** Marks a claimed event applied, or gives it back so that PagerDuty's retry can apply it. */
  settle(eventId: string, applied: boolean, now: number): Promise<void>;
  dedupKeyOfIncident(incidentId: string): Promise<string | undefined>;
  rememberIncident(incidentId: string, dedupKey: string, now: number): Promise<void>;
}

/** Events are remembered longer than any of them is applied (three days old at most). */
export const EVENT_MEMORY_MS = 7 * 24 * 3600 * 1000;
/** The webhook function's timeout: no invocation applies an event for longer. */
export const WEBHOOK_TIMEOUT_SECONDS = 10;
/** A claim older than the function's timeout belongs to an invocation that ended without settling it. */
export const STALE_CLAIM_MS = (WEBHOOK_TIMEOUT_SECONDS + 2) * 1000;
export const INCIDENT_MEMORY_MS = 90 * 24 * 3600 * 1000;

export function createMemoryWebhookLedger(): WebhookLedger {
  const events = new Map<string, { state: "processing" | "done" | "failed"; at: number }>();
  const incidents = new Map<string, string>();
  return {
    claim(eventId, now) {
      const known = events.get(eventId);
      const taken = claimOf(known?.state, known?.at ?? 0, now);
      if (taken === "claimed") events.set(eventId, { state: "processing", at: now });
      return Promise.resolve(taken);
    },
    settle(eventId, applied, now) {
      events.set(eventId, { state: applied ? "done" : "failed", at: now });
      return Promise.resolve();
    },
    dedupKeyOfIncident: (incidentId) => Promise.resolve(incidents.get(incidentId)),
    rememberIncident(incidentId, dedupKey) {
      incidents.set(incidentId, dedupKey);
      return Promise.resolve();
    },
  };
}

/** Pure: whether an event in `state` since `at` may be taken now. */
export function claimOf(state: string | undefined, at: number, now: number): LedgerClaim {
  if (state === "done") return "applied";
  if (state === "processing" && at >= now - STALE_CLAIM_MS) return "inProgress";
  return "claimed";
}
