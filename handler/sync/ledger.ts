// What the webhook endpoint remembers between deliveries: which events it applied (PagerDuty delivers at least
// once, and a captured request could be replayed), and which finding an incident belongs to (a note on an incident
// names only the incident).

export interface WebhookLedger {
  /** Takes an event for processing; false when it was applied already, or is being applied right now. */
  claim(eventId: string, now: number): Promise<boolean>;
  /** Marks a claimed event applied, or gives it back so that PagerDuty's retry can apply it. */
  settle(eventId: string, applied: boolean, now: number): Promise<void>;
  dedupKeyOfIncident(incidentId: string): Promise<string | undefined>;
  rememberIncident(incidentId: string, dedupKey: string, now: number): Promise<void>;
}

/** Events are remembered longer than any of them is accepted (a day old at most). */
export const EVENT_MEMORY_MS = 7 * 24 * 3600 * 1000;
/** A claim older than this belongs to an invocation that died: the event may be taken again. */
export const STALE_CLAIM_MS = 60 * 1000;
export const INCIDENT_MEMORY_MS = 90 * 24 * 3600 * 1000;

export function createMemoryWebhookLedger(): WebhookLedger {
  const events = new Map<string, { state: "processing" | "done" | "failed"; at: number }>();
  const incidents = new Map<string, string>();
  return {
    claim(eventId, now) {
      const known = events.get(eventId);
      const free =
        known === undefined ||
        known.state === "failed" ||
        (known.state === "processing" && known.at < now - STALE_CLAIM_MS);
      if (free) events.set(eventId, { state: "processing", at: now });
      return Promise.resolve(free);
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
