import type { Routed } from "../finding/route";
import type { AlertTracker } from "../state/tracker";
import type { Clock } from "../clock";
import { errorText, type Logger } from "../telemetry/log";
import type { Meter } from "../telemetry/metrics";
import { identityOf } from "../sync/securityHub";
import type { Deliver } from "./delivery";
import { urgencyOf, withUrgency, type UrgencyPolicy } from "../finding/urgency";

// One routed finding through the alert state and out to PagerDuty: plan (read, decide, claim), send, confirm,
// and when the finding opened an alert, hand it to the Security Hub write-back.

export interface FindingDependencies {
  routingKey: (deadline: number) => Promise<string>;
  deliver: Deliver;
  alerts: AlertTracker;
  /** Told of each finding whose page is to be written back to Security Hub. */
  writeBack: ((routed: Extract<Routed, { kind: "send" }>) => void) | undefined;
  log: Logger;
  meter: Meter;
  clock: Clock;
  /** Who is woken and when; undefined: the event's own severity decides, as PagerDuty's severity-based rule. */
  urgency: UrgencyPolicy | undefined;
}

/** How soon a finding waiting for another invocation's send of it is tried again. */
const WAIT_POLL_MS = 2_000;

export type FindingResult =
  | { kind: "sent" }
  | { kind: "skipped" }
  /** PagerDuty refused the event: it can never be sent as it is. */
  | { kind: "rejected"; reason: string }
  /** This finding must wait (another invocation is sending one of its events): its record is handed back. */
  | { kind: "wait"; reason: string; retryAt: number }
  /** Nothing more can be sent in this invocation; `retryAt`, when known, is when sending may succeed again. */
  | { kind: "stop"; reason: string; retryAt?: number };

export async function sendFinding(
  routed: Extract<Routed, { kind: "send" }>,
  context: { messageId: string; receiveCount?: number; byHand: boolean; importedAt?: number },
  deps: FindingDependencies,
  deadline: number,
): Promise<FindingResult> {
  const { mapped, finding } = routed;
  const fields = {
    messageId: context.messageId,
    findingId: mapped.findingId,
    dedupKey: mapped.dedupKey,
    action: routed.action,
    severity: mapped.severityLabel,
  };
  const plan = await deps.alerts.plan(
    {
      dedupKey: mapped.dedupKey,
      action: routed.action,
      ...(mapped.updatedAt === undefined ? {} : { updatedAt: mapped.updatedAt }),
      format: finding.format,
      fingerprint: mapped.fingerprint,
      passed: routed.passed,
      manual: context.byHand,
      finding: identityOf(finding),
      triaged: (finding.workflow !== undefined && finding.workflow !== "NEW") || finding.noted,
    },
    deadline,
  );
  if (plan.kind === "wait") {
    deps.log.info("finding waits", { ...fields, reason: plan.why });
    // The other send is usually confirmed within a second; its claim's end is only the latest it can be.
    return { kind: "wait", reason: plan.why, retryAt: Math.min(plan.until, deps.clock.now() + WAIT_POLL_MS) };
  }
  if (plan.kind === "skip") {
    deps.meter.count(
      plan.skip === "unchanged"
        ? "SkippedUnchanged"
        : plan.skip === "nothingToResolve"
          ? "NothingToResolve"
          : "SkippedOther",
    );
    deps.log.info("finding skipped", { ...fields, alert: plan.skip, reason: plan.why });
    if (plan.writeBackDue) deps.writeBack?.(routed);
    return { kind: "skipped" };
  }
  let routingKey: string;
  try {
    routingKey = await deps.routingKey(deadline);
  } catch (error) {
    const reason = errorText(error);
    deps.log.error("routing key unavailable", { messageId: context.messageId, error: reason });
    await plan.release(false);
    return { kind: "stop", reason };
  }
  const event =
    deps.urgency === undefined
      ? mapped.event
      : withUrgency(
          mapped.event,
          mapped.severityLabel,
          urgencyOf(
            { label: mapped.severityLabel, byHand: context.byHand, regression: plan.change === "regression" },
            deps.clock.now(),
            deps.urgency,
          ),
        );
  // A resolve owed for a trigger that reached PagerDuty late is sent with whatever event of the finding comes.
  const request =
    plan.action === routed.action
      ? { ...event, routing_key: routingKey }
      : { event_action: plan.action, dedup_key: mapped.dedupKey, routing_key: routingKey };
  const delivery = await deps.deliver(request, deadline);
  deps.log.info("finding outcome", {
    ...fields,
    action: plan.action,
    alert: plan.change,
    outcome: delivery.outcome,
    pagerdutyStatus: "status" in delivery ? delivery.status : undefined,
    attempts: delivery.attempts,
    ...(delivery.outcome === "rejected" ? { errors: delivery.errors } : {}),
    ...(delivery.outcome === "handBack" ? { reason: delivery.reason } : {}),
    receiveCount: context.receiveCount,
  });
  if (delivery.outcome === "handBack") {
    await plan.release(delivery.attempts > 0);
    return {
      kind: "stop",
      reason: delivery.reason,
      ...(delivery.retryAt === undefined ? {} : { retryAt: delivery.retryAt }),
    };
  }
  if (delivery.outcome === "rejected") {
    await plan.release(true);
    const reason = `PagerDuty rejected finding ${mapped.findingId} (HTTP ${delivery.status}): ${delivery.errors.join("; ")}`;
    return { kind: "rejected", reason };
  }
  if (plan.change === "new" || plan.change === "regression") {
    deps.meter.page(mapped.severityLabel);
    if (context.importedAt !== undefined) deps.meter.importToPage(deps.clock.now() - context.importedAt);
  } else {
    deps.meter.count(plan.action === "resolve" ? "ResolvesSent" : "AlertsUpdated");
  }
  if (plan.writeBack) deps.writeBack?.(routed);
  await plan.confirm();
  return { kind: "sent" };
}
