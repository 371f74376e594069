import type { AlertState } from "./alerts";

/** Where alert state lives: one record per dedup key, written only if it is still at the version read. */
export interface AlertStore {
  get(dedupKey: string): Promise<AlertState | undefined>;
  /** Many records at once (DynamoDB's BatchGetItem); a key without a record is absent from the answer. */
  getMany(dedupKeys: string[]): Promise<Map<string, AlertState>>;
  /**
   * Writes `next` if the stored record is still at version `expected` (undefined: there is none). Answers false
   * when another write came first; throws when the store cannot be reached.
   */
  put(next: AlertState, expected: number | undefined, now: number): Promise<boolean>;
}

/** One container's alert state, for running without a table (local tools, tests). */
export function createMemoryAlertStore(): AlertStore & { all(): AlertState[] } {
  const states = new Map<string, AlertState>();
  return {
    get: (dedupKey) => Promise.resolve(structuredCloneOrUndefined(states.get(dedupKey))),
    getMany: (dedupKeys) =>
      Promise.resolve(
        new Map(
          dedupKeys.flatMap((key) => {
            const state = states.get(key);
            return state === undefined ? [] : [[key, structuredClone(state)] as const];
          }),
        ),
      ),
    put(next, expected) {
      if (states.get(next.dedupKey)?.version !== expected) return Promise.resolve(false);
      states.set(next.dedupKey, structuredClone(next));
      return Promise.resolve(true);
    },
    all: () => [...states.values()].map((state) => structuredClone(state)),
  };
}

function structuredCloneOrUndefined<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

/** How long a record read ahead for a batch stands for a read: past it, the record is read again. */
export const PREFETCH_FRESH_MS = 5_000;

/**
 * One invocation's reads: the records of a batch's findings read at once, each standing for the first read of its
 * key while fresh; every later read (after a lost race, or of a key read ahead too long ago) goes to the store.
 */
export function prefetchingStore(
  store: AlertStore,
  now: () => number,
): { store: AlertStore; prefetch(dedupKeys: string[]): Promise<void> } {
  const ahead = new Map<string, { state: AlertState | undefined; at: number }>();
  return {
    store: {
      get(dedupKey) {
        const read = ahead.get(dedupKey);
        if (read === undefined) return store.get(dedupKey);
        ahead.delete(dedupKey);
        return now() - read.at <= PREFETCH_FRESH_MS ? Promise.resolve(read.state) : store.get(dedupKey);
      },
      getMany: (dedupKeys) => store.getMany(dedupKeys),
      put: (next, expected, at) => store.put(next, expected, at),
    },
    async prefetch(dedupKeys) {
      const at = now();
      const states = await store.getMany(dedupKeys);
      for (const key of dedupKeys) ahead.set(key, { state: states.get(key), at });
    },
  };
}
