import type { EventReading } from "../finding/events";
import type { FindingFilter } from "../finding/filter";
import { routeFinding } from "../finding/route";
import type { AlertTracker } from "../state/tracker";
import { errorText, type Logger } from "../telemetry/log";
import type { DeadLetterSender } from "./deadLetters";
import type { Deliver } from "./delivery";

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
  alerts: AlertTracker;
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
    const { mapped } = routed;
    const plan = await deps.alerts.plan({
      dedupKey: mapped.dedupKey,
      action: routed.action,
      ...(mapped.updatedAt === undefined ? {} : { updatedAt: mapped.updatedAt }),
      fingerprint: mapped.fingerprint,
      passed: routed.passed,
      manual: false,
      finding:
        mapped.productArn === undefined
          ? { id: mapped.findingId }
          : { id: mapped.findingId, productArn: mapped.productArn },
    });
    if (plan.kind === "skip") {
      deps.log.info("finding skipped", {
        messageId,
        findingId: mapped.findingId,
        dedupKey: mapped.dedupKey,
        action: routed.action,
        severity: mapped.severityLabel,
        alert: plan.skip,
        reason: plan.why,
      });
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
    const delivery = await deps.deliver({ ...mapped.event, routing_key: routingKey }, deadline);
    deps.log.info("finding outcome", {
      messageId,
      findingId: mapped.findingId,
      dedupKey: mapped.dedupKey,
      action: routed.action,
      severity: mapped.severityLabel,
      alert: plan.change,
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
    sent += 1;
    if ((await plan.confirm()) === "compensate") {
      // Best effort: should it not get through, the next import of the finding finds the alert open and resolves it.
      const again = await deps.deliver(
        { event_action: "resolve", dedup_key: mapped.dedupKey, routing_key: routingKey },
        deadline,
      );
      deps.log.info("finding outcome", {
        messageId,
        findingId: mapped.findingId,
        dedupKey: mapped.dedupKey,
        action: "resolve",
        alert: "resolve",
        outcome: again.outcome,
        attempts: again.attempts,
        reason: "resolved again: a newer resolution overtook the trigger",
      });
    }
  }
  if (problems.length > 0) return { result: await deadLetter(record, problems.join(" | "), deps) };
  return sent > 0
    ? { result: { messageId, outcome: "delivered" } }
    : { result: { messageId, outcome: "skipped", reason: "nothing needed sending" } };
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
