import { isTransient } from "../awsErrors";
import type { Clock } from "../clock";
import { createPacer, type PacingStore } from "../delivery/pacing";
import { errorText, type Logger } from "../telemetry/log";
import type { Meter } from "../telemetry/metrics";
import {
  MAX_FINDINGS_PER_CALL,
  findingIdOf,
  refKey,
  type FindingRef,
  type FindingUpdate,
  type FindingUpdater,
} from "./securityHub";

// Writing to Security Hub, paced and retried: every call takes a slot of one schedule shared by every container of
// the stack (well inside BatchUpdateFindings' documented 10 a second), throttling and server errors are retried
// with backoff until the deadline, and what still fails is logged and reported, never thrown: a write-back must
// not block or repeat a page.

export interface SecurityHubWriterOptions {
  updater: FindingUpdater;
  /** Where the stack's one Security Hub schedule is kept: both functions take their calls from it. */
  pacingStore: PacingStore;
  clock: Clock;
  random: () => number;
  log: Logger;
  meter: Meter;
}

export interface WriteResult {
  updated: number;
  failed: number;
  /** Some of it failed for a passing reason (throttling, a server error, no time left): worth trying again. */
  retryable: boolean;
}

/**
 * Every container of a stack shares one schedule for Security Hub's BatchUpdateFindings: half its documented
 * 10 calls a second, leaving room for the account's other tools.
 */
const SECURITY_HUB_PACING = { id: "securityhub#BatchUpdateFindings", callsPerMinute: 300 } as const;

export type SecurityHubWriter = (update: FindingUpdate, deadline: number) => Promise<WriteResult>;

const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 8_000;

export function createSecurityHubWriter(options: SecurityHubWriterOptions): SecurityHubWriter {
  const { clock, log } = options;
  const pacer = createPacer({
    store: options.pacingStore,
    id: SECURITY_HUB_PACING.id,
    eventsPerMinute: SECURITY_HUB_PACING.callsPerMinute,
    clock,
    log,
  });
  const fail = (findings: FindingRef[], reason: string, retryable: boolean): WriteResult => {
    options.meter.count("SecurityHubWriteFailures", findings.length);
    log.warn("Security Hub not updated", {
      findings: findings.map(findingIdOf),
      reason,
    });
    return { updated: 0, failed: findings.length, retryable };
  };

  async function call(update: FindingUpdate, deadline: number): Promise<WriteResult> {
    for (let attempt = 1; ; attempt += 1) {
      const slot = await pacer.acquire(deadline);
      if (slot === undefined) return fail(update.findings, "no Security Hub slot before the deadline", true);
      await clock.sleep(slot - clock.now());
      try {
        const outcome = await options.updater(update);
        options.meter.count("SecurityHubUpdates", outcome.updated.length);
        if (outcome.failed.length > 0) {
          options.meter.count("SecurityHubWriteFailures", outcome.failed.length);
          for (const entry of outcome.failed) {
            log.warn("Security Hub not updated", {
              findings: [findingIdOf(entry.finding)],
              reason: `${entry.code}: ${entry.message}`,
            });
          }
        }
        return { updated: outcome.updated.length, failed: outcome.failed.length, retryable: false };
      } catch (error) {
        const wait =
          Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1)) * (0.5 + options.random() / 2);
        const transient = isTransient(error);
        if (!transient || clock.now() + wait > deadline)
          return fail(update.findings, errorText(error), transient);
        log.info("Security Hub busy; retrying", { error: errorText(error), attempt });
        await clock.sleep(wait);
      }
    }
  }

  return async (update, deadline) => {
    const results: WriteResult[] = [];
    for (let start = 0; start < update.findings.length; start += MAX_FINDINGS_PER_CALL) {
      const findings = update.findings.slice(start, start + MAX_FINDINGS_PER_CALL);
      results.push(await call({ ...update, findings }, deadline));
    }
    return combine(results);
  };
}

/** Write-backs gathered over an invocation, sent together: one call per note and workflow, up to 100 findings. */
export interface WriteBackBatch {
  add(finding: FindingRef, update: Omit<FindingUpdate, "findings">): void;
  flush(deadline: number): Promise<WriteResult>;
}

export function createWriteBackBatch(write: SecurityHubWriter): WriteBackBatch {
  const groups = new Map<string, FindingUpdate>();
  return {
    add(finding, update) {
      const key = JSON.stringify([update.workflow ?? null, update.note]);
      const group = groups.get(key) ?? { ...update, findings: [] };
      if (!group.findings.some((known) => refKey(known) === refKey(finding))) group.findings.push(finding);
      groups.set(key, group);
    },
    async flush(deadline) {
      const pending = [...groups.values()];
      groups.clear();
      const results: WriteResult[] = [];
      for (const update of pending) results.push(await write(update, deadline));
      return combine(results);
    },
  };
}

function combine(results: WriteResult[]): WriteResult {
  return {
    updated: results.reduce((total, result) => total + result.updated, 0),
    failed: results.reduce((total, result) => total + result.failed, 0),
    retryable: results.some((result) => result.retryable),
  };
}
