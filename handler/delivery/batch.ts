import { CUSTOM_ACTION, type EventReading } from "../finding/events";
import type { FindingFilter } from "../finding/filter";
import type { Finding } from "../finding/model";
import { routeFinding, type Routed } from "../finding/route";
import { outOfScope, type AccountScope } from "../finding/routes";
import { errorText } from "../telemetry/log";
import type { DeadLetterSender } from "./deadLetters";
import type { Delivery } from "./delivery";
import { createRecordGroups } from "./groupSend";
import { sendFinding, type Channel, type FindingDependencies, type FindingResult } from "./sendFinding";

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
  /** Handed back to wait its turn in a key's send schedule, not because a send failed. */
  queued?: boolean;
}

export interface BatchDependencies extends FindingDependencies {
  filter: FindingFilter;
  /** Accounts whose findings another stack pages. */
  accountScope: AccountScope;
  deadLetter: DeadLetterSender | undefined;
  /** Sends what the findings of the batch asked to write back to Security Hub. */
  flushWriteBack: ((deadline: number) => Promise<void>) | undefined;
  /** Reads the alert state of the batch's findings at once (BatchGetItem), before any of them is worked on. */
  prefetch: ((dedupKeys: string[]) => Promise<void>) | undefined;
  /**
   * Records worked on at once. Their reads and writes of the state table overlap; their sends do not: each route's
   * channel sends one event of the invocation at a time, so the invocation holds at most one slot of each key's
   * schedule, as when its records were worked on one by one.
   */
  recordConcurrency: number;
}

/** A record's findings as the pure core routes them, before anything is read or sent. */
interface Work {
  record: InboundRecord;
  byHand: string | undefined;
  findings: (Routed | { kind: "outOfScope"; finding: Finding; reason: string })[];
}

/**
 * Processes a batch until the deadline. A record is delivered when all its findings are sent or skipped;
 * dead-lettered (with the reason) when it or one of its findings can never be sent; handed back to its queue when
 * delivery must wait (429, PagerDuty or SSM unavailable, no time left). One record's fate never changes another's,
 * except that after a 429 or a missed deadline nothing more is sent with that route's key in this invocation.
 */
export async function processRecords(
  records: InboundRecord[],
  deps: BatchDependencies,
  deadline: number,
): Promise<RecordResult[]> {
  const work = records.map((record) => route(record, deps));
  const keys = work.flatMap((item) =>
    item.findings.flatMap((finding) => (finding.kind === "send" ? [finding.mapped.dedupKey] : [])),
  );
  if (keys.length > 1 && deps.prefetch !== undefined) {
    try {
      await deps.prefetch(keys);
    } catch (error) {
      deps.log.warn("alert state read ahead failed; each finding is read on its own", {
        findings: keys.length,
        error: errorText(error),
      });
    }
  }
  const permits = createPermits(Math.max(1, deps.recordConcurrency));
  const sendOneAtATime = serialChannels(deps.channel);
  // Records received most often go first: they have waited longest for their key's schedule, and each receive
  // counts toward the queue's maxReceiveCount. The records received with them for the first time take the slots
  // after theirs.
  const turns = [...work.keys()].sort(
    (a, b) => (work[b]?.record.receiveCount ?? 1) - (work[a]?.record.receiveCount ?? 1),
  );
  const results: RecordResult[] = new Array<RecordResult>(work.length);
  await Promise.all(
    turns.map(async (index) => {
      const item = work[index] as Work;
      const release = await permits.acquire();
      try {
        // A record waiting for its turn to send gives its permit to the next record's reads.
        results[index] = await processRecord(item, { ...deps, channel: sendOneAtATime(release) }, deadline);
      } finally {
        release();
      }
    }),
  );
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

/** At most `count` holders at once, served in the order they asked; a holder's release may be called again. */
function createPermits(count: number): { acquire(): Promise<() => void> } {
  let free = count;
  const waiting: (() => void)[] = [];
  const releaser = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next === undefined) free += 1;
      else next();
    };
  };
  return {
    acquire() {
      if (free > 0) {
        free -= 1;
        return Promise.resolve(releaser());
      }
      return new Promise((resolve) => waiting.push(() => resolve(releaser())));
    },
  };
}

/**
 * Each channel's sends of the invocation, one after another in the order asked. Once a send of a channel could not
 * be made (a 429, no slot of its key's schedule before the deadline), the channel's sends still waiting are not
 * made: their findings are handed back for the same reason. Other routes' keys go on sending: PagerDuty's limit, and
 * each key's schedule, are per key. Sends refused for want of a slot come back in the order they waited, each at
 * the slot it can have at the earliest: received again when they can be sent, not all at once (each receive counts
 * toward the queue's maxReceiveCount) and not after a fixed wait that leaves the key's schedule idle.
 */
function serialChannels(
  channelOf: (route: string) => Channel,
): (onWait: () => void) => (route: string) => Channel {
  const tails = new Map<Channel, Promise<unknown>>();
  const halted = new Map<Channel, { delivery: Extract<Delivery, { outcome: "handBack" }>; behind: number }>();
  return (onWait) => (name) => {
    const channel = channelOf(name);
    return {
      routingKey: channel.routingKey,
      deliver: (request, deadline, priority) => {
        onWait();
        const turn = (tails.get(channel) ?? Promise.resolve()).then(async (): Promise<Delivery> => {
          const refused = halted.get(channel);
          if (refused !== undefined) {
            refused.behind += 1;
            const { delivery } = refused;
            return delivery.queued === undefined || delivery.retryAt === undefined
              ? { ...delivery, attempts: 0 }
              : {
                  ...delivery,
                  attempts: 0,
                  retryAt: delivery.retryAt + refused.behind * delivery.queued.spacingMs,
                };
          }
          const delivery = await channel.deliver(request, deadline, priority);
          if (delivery.outcome === "handBack") halted.set(channel, { delivery, behind: 0 });
          return delivery;
        });
        tails.set(
          channel,
          turn.catch(() => undefined),
        );
        return turn;
      },
    };
  };
}

/** Pure: what the stack's filter and account scope make of each finding of a record. */
function route(record: InboundRecord, deps: BatchDependencies): Work {
  const { reading } = record;
  if (reading.kind !== "findings") return { record, byHand: undefined, findings: [] };
  // A person chose the stack's custom action in Security Hub: every selected finding pages.
  const byHand =
    reading.detailType === CUSTOM_ACTION
      ? `a person, through the Security Hub custom action "${reading.actionName ?? "Page on-call"}"`
      : undefined;
  const findings = reading.findings.map((finding): Work["findings"][number] => {
    const routed = routeFinding(finding, deps.filter, byHand === undefined ? {} : { byHand });
    if (routed.kind !== "send" || byHand !== undefined) return routed;
    // A person's page is taken whatever the account: they chose the finding in this stack's Security Hub.
    const reason = outOfScope(routed.finding, deps.accountScope);
    return reason === undefined ? routed : { kind: "outOfScope", finding: routed.finding, reason };
  });
  return { record, byHand, findings };
}

async function processRecord(
  { record, byHand, findings }: Work,
  deps: BatchDependencies,
  deadline: number,
): Promise<RecordResult> {
  const { messageId, reading } = record;
  if (reading.kind === "skip") {
    deps.log.info("event skipped", { messageId, reason: reading.reason });
    return { messageId, outcome: "skipped", reason: reading.reason };
  }
  if (reading.kind === "malformed") return deadLetter(record, reading.reason, deps);

  const problems: string[] = [];
  let sent = 0;
  let handedBack: RecordResult | undefined;
  const groups = createRecordGroups(deps, {
    messageId,
    ...(reading.time === undefined ? {} : { importedAt: reading.time }),
  });
  const count = (result: FindingResult) => {
    if (result.kind === "stop" || result.kind === "wait") {
      handedBack ??= {
        messageId,
        outcome: "handedBack",
        reason: result.reason,
        ...(result.retryAt === undefined ? {} : { retryAt: result.retryAt }),
        ...(result.kind === "stop" && result.queued === true ? { queued: true } : {}),
      };
    }
    if (result.kind === "rejected") problems.push(result.reason);
    if (result.kind === "sent") sent += 1;
  };
  for (const [index, routed] of findings.entries()) {
    if (routed.kind === "invalid") {
      problems.push(
        `finding ${index + 1}${routed.findingId === undefined ? "" : ` (${routed.findingId})`}: ${routed.reason}`,
      );
      continue;
    }
    if (routed.kind === "skip" || routed.kind === "outOfScope") {
      deps.meter.count("FilteredOut");
      const findingId = routed.kind === "skip" ? routed.findingId : routed.finding.id;
      deps.log.info("finding skipped", { messageId, findingId, reason: routed.reason });
      continue;
    }
    count(
      await sendFinding(
        routed,
        {
          messageId,
          receiveCount: record.receiveCount,
          byHand: byHand !== undefined,
          ...(reading.time === undefined ? {} : { importedAt: reading.time }),
          groups,
        },
        deps,
        deadline,
      ),
    );
    if (handedBack !== undefined) break;
  }
  // The groups' events the record's members decided go out even when the record is handed back: they are claimed.
  for (const result of await groups.flush(deadline)) count(result);
  if (handedBack !== undefined) return handedBack;
  if (problems.length > 0) return deadLetter(record, problems.join(" | "), deps);
  return sent > 0
    ? { messageId, outcome: "delivered" }
    : { messageId, outcome: "skipped", reason: "nothing needed sending" };
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
