import type { Clock } from "../clock";
import { errorText, type Logger } from "../telemetry/log";

// PagerDuty ingests about 120 events a minute per routing key and drops the rest. Every invocation of every
// queue that sends with a key draws its send times from one shared schedule (a generic cell rate algorithm):
// the schedule's "theoretical arrival time" (tat) is the earliest moment the next event may leave.

export interface PacingState {
  tat: number;
  /** Urgent slots given in a row, since another event's or since the schedule was idle (absent: none). */
  urgentRun?: number;
}

export type SwapResult = { ok: true } | { ok: false; current: PacingState | undefined };

/** Where the shared schedule lives: a compare-and-swap on one small record per routing key. */
export interface PacingStore {
  swap(id: string, expected: PacingState | undefined, next: PacingState): Promise<SwapResult>;
}

export function intervalFor(eventsPerMinute: number): number {
  return 60_000 / eventsPerMinute;
}

/** Pure: the send time the schedule gives to the next event, and the schedule after it. */
export function nextSlot(
  state: PacingState | undefined,
  now: number,
  intervalMs: number,
): { sendAt: number; next: PacingState } {
  // An idle schedule does not bank credit: after a quiet hour the next burst still starts at the steady rate.
  const sendAt = Math.max(state?.tat ?? now, now);
  return { sendAt, next: { tat: sendAt + intervalMs } };
}

/**
 * Who a slot is for. An urgent event (a CRITICAL page) queues for the first free slot. Any other event takes only the
 * next slot, when no more than that one is reserved, and otherwise waits until it is: so an urgent event is never
 * behind more than a slot of other events, however many invocations are sending them. While urgent events queue
 * themselves (a backlog of CRITICAL pages), a waiting event queues too after URGENT_RUN urgent slots in a row: a
 * backlog of CRITICAL pages keeps three slots of every four, and never holds the key's other events (resolves,
 * other severities' pages) until their records run out of receives and reach the dead-letter queue.
 */
export type SlotPriority = "urgent" | "normal";

/** Urgent slots given in a row, while they queue, after which a waiting event takes its place in the queue. */
export const URGENT_RUN = 3;

export interface Pacer {
  /** A send time no later than `latest`, reserved for the caller; undefined when none is free by then. */
  acquire(latest: number, priority?: SlotPriority): Promise<number | undefined>;
  /** PagerDuty said 429: nobody sends with this key before `until`. */
  holdOff(until: number): Promise<void>;
  /**
   * When the schedule could give its next slot, and each one after it, as this container last saw the schedule
   * (others may have taken slots since: it is the earliest those sends can be made).
   */
  queueAhead(): { nextSlot: number; intervalMs: number };
}

export interface PacerOptions {
  store: PacingStore;
  id: string;
  eventsPerMinute: number;
  clock: Clock;
  log: Logger;
}

const MAX_SWAP_ATTEMPTS = 8;

export function createPacer(options: PacerOptions): Pacer {
  const intervalMs = intervalFor(options.eventsPerMinute);
  // The last state this container saw; usually current, so one write reserves a slot.
  let known: PacingState | undefined;

  async function update(
    propose: (state: PacingState | undefined) => { next: PacingState } | undefined,
  ): Promise<PacingState | undefined> {
    for (let attempt = 0; attempt < MAX_SWAP_ATTEMPTS; attempt += 1) {
      const proposal = propose(known);
      if (proposal === undefined) return undefined;
      let result: SwapResult;
      try {
        result = await options.store.swap(options.id, known, proposal.next);
      } catch (error) {
        // Delivery must not stop because the shared schedule is unreachable: pace on what this container knows.
        options.log.warn("pacing store unavailable; pacing locally", { error: errorText(error) });
        known = proposal.next;
        return proposal.next;
      }
      if (result.ok) {
        known = proposal.next;
        return proposal.next;
      }
      known = result.current;
    }
    options.log.warn("pacing store contended; pacing locally", { attempts: MAX_SWAP_ATTEMPTS });
    const proposal = propose(known);
    if (proposal !== undefined) known = proposal.next;
    return proposal?.next;
  }

  return {
    async acquire(latest, priority = "urgent") {
      for (;;) {
        let behind: number | undefined;
        const reserved = await update((state) => {
          const now = options.clock.now();
          const slot = nextSlot(state, now, intervalMs);
          behind = undefined;
          if (slot.sendAt > latest) return undefined;
          const run = state === undefined || state.tat <= now ? 0 : (state.urgentRun ?? 0);
          if (priority === "urgent") return { next: { ...slot.next, urgentRun: run + 1 } };
          if (slot.sendAt > now + intervalMs && run < URGENT_RUN) {
            behind = slot.sendAt - intervalMs;
            return undefined;
          }
          return slot;
        });
        // The schedule moved one interval past the slot it gave.
        if (reserved !== undefined) return reserved.tat - intervalMs;
        if (behind === undefined) return undefined;
        await options.clock.sleep(behind - options.clock.now());
      }
    },
    async holdOff(until) {
      await update((state) => ((state?.tat ?? 0) >= until ? undefined : { next: { tat: until } }));
    },
    queueAhead() {
      return { nextSlot: nextSlot(known, options.clock.now(), intervalMs).sendAt, intervalMs };
    },
  };
}

/** One container's schedule, for running without a shared store (local tools, tests). */
export function createMemoryPacingStore(): PacingStore {
  const states = new Map<string, PacingState>();
  return {
    swap(id, expected, next) {
      const current = states.get(id);
      if (current?.tat !== expected?.tat) return Promise.resolve({ ok: false, current });
      states.set(id, next);
      return Promise.resolve({ ok: true });
    },
  };
}
