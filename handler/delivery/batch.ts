import type { Clock } from "../clock";
import type { DeadLetterSender } from "./deadLetters";
import type { Deliver } from "./delivery";
import type { FindingFilter } from "../finding/filter";
import type { EventReading } from "../finding/events";
import { errorText, type Logger } from "../telemetry/log";
import type { MappedFinding } from "../finding/mapping";
import type { ResolutionLedger } from "../state/resolutions";
import { routeFinding } from "../finding/route";

/** One unit of work: an SQS record, or the event of a direct invocation. */
export interface InboundRecord {
  messageId: string;
  /** The text kept in a dead letter. */
  body: string;
  reading: EventReading;
  receiveCount?: number;
}

export type RecordOutcome = "delivered" | "skipped" | "deadLettered" | "handedBack";

export interface RecordResult {
  messageId: string;
  outcome: RecordOutcome;
  reason?: string;
}

export interface BatchDependencies {
  filter: FindingFilter;
  routingKey: (deadline: number) => Promise<string>;
  deliver: Deliver;
  deadLetter: DeadLetterSender | undefined;
  resolutions: ResolutionLedger;
  clock: Clock;
  log: Logger;
}

/**
 * Processes records in order until the deadline. A record is delivered when all its findings are sent or
 * skipped; dead-lettered (with the reason) when it or one of its findings can never be sent; handed back to its
 * queue when delivery must wait (429, PagerDuty or SSM unavailable, no time left). One record's fate never
 * changes another's, except that after a 429 or a missed deadline nothing more is sent in this invocation.
 */
export async function processRecords(
  records: InboundRecord[],
  deps: BatchDependencies,
  deadline: number,
): Promise<RecordResult[]> {
  const results: RecordResult[] = [];
  let stopped: string | undefined;
  for (const record of records) {
    if (stopped !== undefined) {
      results.push({ messageId: record.messageId, outcome: "handedBack", reason: stopped });
      continue;
    }
    const result = await processRecord(record, deps, deadline);
    if (result.stop !== undefined) stopped = result.stop;
    results.push(result.result);
  }
  for (const result of results) {
    if (result.outcome === "handedBack" || result.outcome === "deadLettered") {
      deps.log.warn(`record ${result.outcome === "handedBack" ? "handed back" : "dead-lettered"}`, {
        ...result,
      });
    }
  }
  return results;
}

async function processRecord(
  record: InboundRecord,
  deps: BatchDependencies,
  deadline: number,
): Promise<{ result: RecordResult; stop?: string }> {
  const { messageId, reading } = record;
  if (reading.kind === "skip") {
    deps.log.info("event skipped", { messageId, reason: reading.reason });
    return { result: { messageId, outcome: "skipped", reason: reading.reason } };
  }
  if (reading.kind === "malformed") return { result: await deadLetter(record, reading.reason, deps) };

  const problems: string[] = [];
  let sent = 0;
  for (const [index, finding] of reading.findings.entries()) {
    const routed = routeFinding(finding, deps.filter);
    if (routed.kind === "invalid") {
      problems.push(
        `finding ${index + 1}${routed.findingId === undefined ? "" : ` (${routed.findingId})`}: ${routed.reason}`,
      );
      continue;
    }
    if (routed.kind === "skip") {
      deps.log.info("finding skipped", { messageId, findingId: routed.findingId, reason: routed.reason });
      continue;
    }
    let routingKey: string;
    try {
      routingKey = await deps.routingKey(deadline);
    } catch (error) {
      const reason = errorText(error);
      deps.log.error("routing key unavailable", { messageId, error: reason });
      return { result: { messageId, outcome: "handedBack", reason }, stop: reason };
    }
    const { mapped } = routed;
    const overtaken = routed.action === "trigger" ? await resolvedLater(mapped, deps) : undefined;
    if (overtaken !== undefined) {
      deps.log.info("finding skipped", {
        messageId,
        findingId: mapped.findingId,
        dedupKey: mapped.dedupKey,
        reason: overtaken,
      });
      continue;
    }
    const delivery = await deps.deliver({ ...mapped.event, routing_key: routingKey }, deadline);
    deps.log.info("finding outcome", {
      messageId,
      findingId: mapped.findingId,
      dedupKey: mapped.dedupKey,
      action: routed.action,
      severity: mapped.severityLabel,
      outcome: delivery.outcome,
      pagerdutyStatus: "status" in delivery ? delivery.status : undefined,
      attempts: delivery.attempts,
      ...(delivery.outcome === "rejected" ? { errors: delivery.errors } : {}),
      ...(delivery.outcome === "handBack" ? { reason: delivery.reason } : {}),
      receiveCount: record.receiveCount,
    });
    if (delivery.outcome === "handBack") {
      return { result: { messageId, outcome: "handedBack", reason: delivery.reason }, stop: delivery.reason };
    }
    if (delivery.outcome === "rejected") {
      problems.push(
        `PagerDuty rejected finding ${mapped.findingId} (HTTP ${delivery.status}): ${delivery.errors.join("; ")}`,
      );
      continue;
    }
    if (routed.action === "resolve") await remember(mapped, deps);
    sent += 1;
  }
  if (problems.length > 0) return { result: await deadLetter(record, problems.join(" | "), deps) };
  return sent > 0
    ? { result: { messageId, outcome: "delivered" } }
    : { result: { messageId, outcome: "skipped", reason: "no finding passed the filter" } };
}

/** Why a trigger must not be sent: its finding was resolved by a later update already delivered. */
async function resolvedLater(mapped: MappedFinding, deps: BatchDependencies): Promise<string | undefined> {
  if (mapped.updatedAt === undefined) return undefined;
  try {
    const resolvedAt = await deps.resolutions.resolvedAt(mapped.dedupKey);
    if (resolvedAt === undefined || resolvedAt <= mapped.updatedAt) return undefined;
    return `a later update (${new Date(resolvedAt).toISOString()}) already resolved this finding`;
  } catch (error) {
    // Without the ledger, paging on a stale trigger is the lesser harm than not paging.
    deps.log.warn("resolution ledger unavailable; sending", {
      dedupKey: mapped.dedupKey,
      error: errorText(error),
    });
    return undefined;
  }
}

async function remember(mapped: MappedFinding, deps: BatchDependencies): Promise<void> {
  if (mapped.updatedAt === undefined) return;
  try {
    await deps.resolutions.record(mapped.dedupKey, mapped.updatedAt);
  } catch (error) {
    deps.log.warn("resolution ledger unavailable; not remembered", {
      dedupKey: mapped.dedupKey,
      error: errorText(error),
    });
  }
}

async function deadLetter(
  record: InboundRecord,
  reason: string,
  deps: BatchDependencies,
): Promise<RecordResult> {
  const { messageId } = record;
  if (deps.deadLetter === undefined) {
    return { messageId, outcome: "handedBack", reason: `${reason} (no dead-letter queue configured)` };
  }
  try {
    await deps.deadLetter({ body: record.body, reason, messageId });
    return { messageId, outcome: "deadLettered", reason };
  } catch (error) {
    // The queue's own redrive will still move it to the dead-letter queue after the configured receives.
    return {
      messageId,
      outcome: "handedBack",
      reason: `${reason} (dead-lettering failed: ${errorText(error)})`,
    };
  }
}
