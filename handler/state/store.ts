import type { AlertState } from "./alerts";

/** Where alert state lives: one record per dedup key, written only if it is still at the version read. */
export interface AlertStore {
  get(dedupKey: string): Promise<AlertState | undefined>;
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
