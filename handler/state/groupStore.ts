import {
  confirmedGroup,
  decideGroupSend,
  type GroupSend,
  type GroupState,
  type MemberContext,
  type MemberEvent,
} from "./groups";
import { CLAIM_MARGIN_MS } from "./tracker";

// A group's record (one alert per failing control) in the stack's state table, beside the findings' own alert
// state: one item per group, each write conditional on the version it replaces, as for findings. What one
// member's event does is decided by the pure decideGroup; when another invocation wrote first, the event is
// decided again on what it wrote, so two members passing at once in two lanes leave the group closed.

/** Two lanes rarely race more than once over one group; a record still moving after this many is handed back. */
const GROUP_WRITE_ATTEMPTS = 5;

export interface GroupStore {
  get(dedupKey: string): Promise<GroupState | undefined>;
  /**
   * Writes `next` if the stored record is still at version `expected` (undefined: there is none); `now` dates
   * when a resolved group may be forgotten.
   */
  put(next: GroupState, expected: number | undefined, now: number): Promise<boolean>;
}

/** One container's group records, for running without a table (local tools, tests). */
export function createMemoryGroupStore(): GroupStore {
  const groups = new Map<string, GroupState>();
  return {
    get: (dedupKey) => {
      const state = groups.get(dedupKey);
      return Promise.resolve(state === undefined ? undefined : structuredClone(state));
    },
    put(next, expected) {
      if (groups.get(next.dedupKey)?.version !== expected) return Promise.resolve(false);
      groups.set(next.dedupKey, structuredClone(next));
      return Promise.resolve(true);
    },
  };
}

/**
 * One member's event applied to its group's record: read, decide, write only over the version read, and decide
 * again on the newer record when another write came first. Answers the decision that was written (or that wrote
 * nothing); throws when the record keeps moving or the store cannot be reached, for the record to be tried again.
 * A decision that sends holds the group's claim until it is settled.
 */
export async function applyMemberEvent(
  store: GroupStore,
  event: MemberEvent,
  dedupKey: string,
  context: MemberContext,
): Promise<GroupSend> {
  for (let attempt = 1; attempt <= GROUP_WRITE_ATTEMPTS; attempt += 1) {
    const state = await store.get(dedupKey);
    const decision = decideGroupSend(state, event, dedupKey, context);
    if (decision.send === "wait" || decision.next === undefined || decision.next === state) return decision;
    if (await store.put(decision.next, state?.version, context.now)) return decision;
  }
  throw new Error(
    `group ${dedupKey} changed ${GROUP_WRITE_ATTEMPTS} times while one member's event was decided`,
  );
}

/**
 * After the group's event was sent (`sent`) or handed back: frees the claim that `claimed` holds. A confirmed send
 * is owed no more; one not taken stays owed, sendable by any member's event at once when no request left
 * (`attempted` false), else once a request abandoned on its timeout can have landed. Another invocation's claim
 * since (this one expired) is left alone.
 */
export async function settleGroup(
  store: GroupStore,
  claimed: GroupState,
  outcome: { sent: true } | { sent: false; attempted: boolean },
  now: number,
): Promise<void> {
  const version = claimed.claim?.version;
  let current: GroupState | undefined = claimed;
  for (let attempt = 1; attempt <= GROUP_WRITE_ATTEMPTS; attempt += 1) {
    if (current?.claim === undefined || current.claim.version !== version) return;
    const next: GroupState = outcome.sent
      ? confirmedGroup(current)
      : {
          ...current,
          claim: {
            ...current.claim,
            until: outcome.attempted ? Math.min(current.claim.until, now + CLAIM_MARGIN_MS) : now,
          },
          version: current.version + 1,
        };
    if (await store.put(next, current.version, now)) return;
    current = await store.get(claimed.dedupKey);
  }
  throw new Error(
    `group ${claimed.dedupKey} changed ${GROUP_WRITE_ATTEMPTS} times while its send was settled`,
  );
}
