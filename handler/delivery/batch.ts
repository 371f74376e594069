import { CUSTOM_ACTION, type EventReading } from "../finding/events";
import type { FindingFilter } from "../finding/filter";
import { routeFinding } from "../finding/route";
import { errorText } from "../telemetry/log";
import type { DeadLetterSender } from "./deadLetters";
import { sendFinding, type FindingDependencies } from "./sendFinding";

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
  /** A handed-back record: when (epoch ms) trying it again can succeed, when known. */
  retryAt?: number;
}

export interface BatchDependencies extends FindingDependencies {
  filter: FindingFilter;
  deadLetter: DeadLetterSender | undefined;
  /** Sends what the findings of the batch asked to write back to Security Hub. */
  flushWriteBack: ((deadline: number) => Promise<void>) | undefined;
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
  let stopped: RecordResult | undefined;
  for (const record of records) {
    if (stopped !== undefined) {
      results.push({ ...stopped, messageId: record.messageId });
      continue;
    }
    const result = await processRecord(record, deps, deadline);
    if (result.stop) stopped = result.result;
    results.push(result.result);
  }
  // After the pages: Security Hub is told once for the whole batch, and its failures never change a record's fate.
  await deps.flushWriteBack?.(deadline);
  for (const result of results) {
    if (result.outcome === "handedBack") deps.meter.count("HandedBack");
    if (result.outcome === "deadLettered") deps.meter.count("DeadLettered");
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
): Promise<{ result: RecordResult; stop?: boolean }> {
  const { messageId, reading } = record;
  if (reading.kind === "skip") {
    deps.log.info("event skipped", { messageId, reason: reading.reason });
    return { result: { messageId, outcome: "skipped", reason: reading.reason } };
  }
  if (reading.kind === "malformed") return { result: await deadLetter(record, reading.reason, deps) };

  const problems: string[] = [];
  let sent = 0;
  // A person chose the stack's custom action in Security Hub: every selected finding pages.
  const byHand =
    reading.detailType === CUSTOM_ACTION
      ? `a person, through the Security Hub custom action "${reading.actionName ?? "Page on-call"}"`
      : undefined;
  for (const [index, finding] of reading.findings.entries()) {
    const routed = routeFinding(finding, deps.filter, byHand === undefined ? {} : { byHand });
    if (routed.kind === "invalid") {
      problems.push(
        `finding ${index + 1}${routed.findingId === undefined ? "" : ` (${routed.findingId})`}: ${routed.reason}`,
      );
      continue;
    }
    if (routed.kind === "skip") {
      deps.meter.count("FilteredOut");
      deps.log.info("finding skipped", { messageId, findingId: routed.findingId, reason: routed.reason });
      continue;
    }
    const result = await sendFinding(
      routed,
      {
        messageId,
        receiveCount: record.receiveCount,
        byHand: byHand !== undefined,
        ...(reading.time === undefined ? {} : { importedAt: reading.time }),
      },
      deps,
      deadline,
    );
    if (result.kind === "stop" || result.kind === "wait") {
      const handedBack: RecordResult = { messageId, outcome: "handedBack", reason: result.reason };
      if (result.retryAt !== undefined) handedBack.retryAt = result.retryAt;
      return { result: handedBack, stop: result.kind === "stop" };
    }
    if (result.kind === "rejected") problems.push(result.reason);
    if (result.kind === "sent") sent += 1;
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
