// Findings travel in lanes: a finding's resolution (in the short resolve lane) can reach PagerDuty before an
// older trigger of the same finding that still waits in the backlog. PagerDuty would drop the early resolve and
// then open an alert for a problem already fixed. The ledger remembers each resolution's finding time, so that a
// trigger older than it is not sent.

export interface ResolutionLedger {
  /** The UpdatedAt (epoch ms) of the latest resolution sent for this dedup key, if one is remembered. */
  resolvedAt(dedupKey: string): Promise<number | undefined>;
  record(dedupKey: string, updatedAt: number): Promise<void>;
}

/** How long a resolution is remembered: longer than a record can wait in its queue (four days). */
export const RESOLUTION_MEMORY_MS = 7 * 24 * 3600 * 1000;

export function createMemoryResolutionLedger(): ResolutionLedger {
  const resolutions = new Map<string, number>();
  return {
    resolvedAt: (dedupKey) => Promise.resolve(resolutions.get(dedupKey)),
    record(dedupKey, updatedAt) {
      resolutions.set(dedupKey, Math.max(updatedAt, resolutions.get(dedupKey) ?? 0));
      return Promise.resolve();
    },
  };
}
