import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { putOverVersion, readItem } from "./dynamo";
import { decideGroup, type GroupDecision, type GroupState, type MemberEvent } from "./groups";

// A group's record (one alert per failing control) in the stack's state table, beside the findings' own alert
// state: one item per group, each write conditional on the version it replaces, as for findings. What one
// member's event does is decided by the pure decideGroup; when another invocation wrote first, the event is
// decided again on what it wrote, so two members passing at once in two lanes leave the group closed.

const GROUP_PREFIX = "group#";
/** Two lanes rarely race more than once over one group; a record still moving after this many is handed back. */
const GROUP_WRITE_ATTEMPTS = 5;

export interface GroupStore {
  get(dedupKey: string): Promise<GroupState | undefined>;
  /** Writes `next` if the stored record is still at version `expected` (undefined: there is none). */
  put(next: GroupState, expected: number | undefined): Promise<boolean>;
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

/** A group as one item: its version as a number (the condition reads it), the rest as one JSON attribute. */
export function createDynamoGroupStore(client: DynamoDBClient, tableName: string): GroupStore {
  return {
    async get(dedupKey) {
      const item = await readItem(client, tableName, `${GROUP_PREFIX}${dedupKey}`);
      return item === undefined ? undefined : fromItem(item);
    },
    put: (next, expected) => putOverVersion(client, tableName, toItem(next), expected),
  };
}

function toItem(state: GroupState): Record<string, AttributeValue> {
  const { version, ...record } = state;
  return {
    id: { S: `${GROUP_PREFIX}${state.dedupKey}` },
    version: { N: String(version) },
    record: { S: JSON.stringify(record) },
  };
}

function fromItem(item: Record<string, AttributeValue>): GroupState {
  const record = JSON.parse(item.record?.S ?? "{}") as Omit<GroupState, "version">;
  return { ...record, version: Number(item.version?.N ?? "0") };
}

/**
 * One member's event applied to its group's record: read, decide, write only over the version read, and decide
 * again on the newer record when another write came first. Answers the decision that was written (or that wrote
 * nothing); throws when the record keeps moving or the store cannot be reached, for the record to be tried again.
 */
export async function applyMemberEvent(
  store: GroupStore,
  event: MemberEvent,
  dedupKey: string,
): Promise<GroupDecision> {
  for (let attempt = 1; attempt <= GROUP_WRITE_ATTEMPTS; attempt += 1) {
    const state = await store.get(dedupKey);
    const decision = decideGroup(state, event, dedupKey);
    if (decision.next === undefined || decision.next === state) return decision;
    if (await store.put(decision.next, state?.version)) return decision;
  }
  throw new Error(
    `group ${dedupKey} changed ${GROUP_WRITE_ATTEMPTS} times while one member's event was decided`,
  );
}
