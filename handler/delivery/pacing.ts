import type { Clock } from "../clock";
import { errorText, type Logger } from "../telemetry/log";

// PagerDuty ingests about 120 events a minute per routing key and drops the rest. Every invocation of every
// queue that sends with a key draws its send times from one shared schedule (a generic cell rate algorithm):
// the schedule's "theoretical arrival time" (tat) is the earliest moment the next event may leave.

export interface PacingState {
  tat: number;
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
 * Who a slot is for. An urgent event (a CRITICAL page) queues for the first free slot. A page (an alert that opens)
 * takes a slot only when at most the next one is reserved, and any other event (an update, a resolve) only a slot
 * due now; each otherwise waits until it can. So an urgent event is never behind more than a slot or two of others,
 * and a page never behind an update or a resolve, however many invocations are sending them.
 */
export type SlotPriority = "urgent" | "page" | "normal";

/** How far ahead of now an event of each priority may take its slot, in intervals. */
const LEAD: Record<SlotPriority, number> = { urgent: Infinity, page: 1, normal: 0 };

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
          const lead = LEAD[priority] * intervalMs;
          if (slot.sendAt > now + lead) {
            behind = slot.sendAt - lead;
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
