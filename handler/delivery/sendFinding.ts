import type { Finding } from "../finding/model";
import type { PagerDutyEvent } from "../finding/pagerdutyEvent";
import type { Routed } from "../finding/route";
import { DEFAULT_ROUTE, type RouteChoice } from "../finding/routes";
import type { AlertTracker } from "../state/tracker";
import { EVENT_TIME_RESOLUTION_MS } from "../state/alerts";
import type { Clock } from "../clock";
import { errorText, type Logger } from "../telemetry/log";
import type { Meter } from "../telemetry/metrics";
import type { WriteBackNote } from "../sync/pageWriteBack";
import { identityOf } from "../sync/securityHub";
import { priorityOf, type Deliver, type Delivery } from "./delivery";
import type { SlotPriority } from "./pacing";
import { urgencyOf, withUrgency, type UrgencyPolicy } from "../finding/urgency";
import { groupOf } from "../finding/control";
import type { GroupDependencies, RecordGroups } from "./groupSend";

// One routed finding through the alert state and out to PagerDuty: plan (read, decide, claim), send, confirm,
// and when the finding opened an alert, hand it to the Security Hub write-back.

/** One route's way to PagerDuty: its routing key (its own SSM parameter) and its own send schedule. */
export interface Channel {
  routingKey: (deadline: number) => Promise<string>;
  deliver: Deliver;
}

export interface FindingDependencies extends GroupDependencies {
  /** The route a finding takes (the account's facts read first when a route needs them). */
  routeOf: (finding: Finding) => Promise<RouteChoice>;
  /**
   * Each integration's channel, by its name (a route's name for its first: integrationOf); an unknown route (one
   * since removed) is the default route's, an unknown integration of a route its first.
   */
  channel: (integration: string) => Channel;
  /** The integration of a route an alert (by its dedup key: the group's, or the finding's own) opens on. */
  integrationOf: (route: string, alertKey: string) => string;
  /** The PagerDuty service of a route, as notes in Security Hub name it. */
  channelService: (route: string) => string;
  alerts: AlertTracker;
  /**
   * Told of each finding whose page is to be written back to Security Hub, with the service paged, and what the
   * note says instead of the page's own when there is more to say (see WriteBackNote).
   */
  writeBack:
    ((routed: Extract<Routed, { kind: "send" }>, service: string, told?: WriteBackNote) => void) | undefined;
  log: Logger;
  meter: Meter;
  clock: Clock;
  /** Who is woken and when on a route's service; undefined: the event's own severity decides, as PagerDuty's severity-based rule. */
  urgency: (route: string) => UrgencyPolicy | undefined;
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
  /**
   * Nothing more can be sent in this invocation; `retryAt`, when known, is when sending may succeed again; `queued`:
   * the finding waits its turn in its key's send schedule.
   */
  | { kind: "stop"; reason: string; retryAt?: number; queued?: boolean };

/**
 * The latest moment Security Hub's change in the event can have happened: a person's note written with it (to the
 * millisecond), else the end of the second EventBridge stamped the event with.
 */
function latestChangeAt(importedAt: number | undefined, notedAt: number | undefined): { at?: number } {
  if (importedAt === undefined) return {};
  if (notedAt !== undefined && notedAt >= importedAt) return { at: notedAt };
  return { at: importedAt + EVENT_TIME_RESOLUTION_MS };
}

export async function sendFinding(
  routed: Extract<Routed, { kind: "send" }>,
  context: {
    messageId: string;
    receiveCount?: number;
    byHand: boolean;
    importedAt?: number;
    /** The record's groups, which a member's join or leave goes to (alertPer: control). */
    groups?: RecordGroups;
  },
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
  const choice = await deps.routeOf(finding);
  if (choice.fallback !== undefined) {
    deps.meter.count("AccountFactsUnavailable");
    deps.log.warn("default route taken: account facts unavailable", {
      ...fields,
      why: choice.why,
      error: choice.fallback,
    });
  }
  // A page by hand is the finding's own, whatever the grouping.
  const group = context.byHand
    ? undefined
    : groupOf(finding, deps.grouping, choice.route === DEFAULT_ROUTE ? undefined : choice.route)?.dedupKey;
  const integration = deps.integrationOf(choice.route, group ?? mapped.dedupKey);
  const pastNew = finding.workflow !== undefined && finding.workflow !== "NEW";
  const plan = await deps.alerts.plan(
    {
      dedupKey: mapped.dedupKey,
      action: routed.action,
      ...(mapped.updatedAt === undefined ? {} : { updatedAt: mapped.updatedAt }),
      format: finding.format,
      fingerprint: mapped.fingerprint,
      passed: routed.passed,
      below: routed.below,
      ...(routed.workflow ? { workflow: true as const } : {}),
      ...(finding.lastNoteAtMs === undefined ? {} : { notedAt: finding.lastNoteAtMs }),
      manual: context.byHand,
      finding: identityOf(finding),
      triaged: pastNew || finding.noted,
      ...(!pastNew && finding.notedAtMs !== undefined ? { triagedAt: finding.notedAtMs } : {}),
      stackNoted: finding.stackNoted,
      ...latestChangeAt(context.importedAt, finding.notedAtMs),
      ...(integration === DEFAULT_ROUTE ? {} : { route: integration }),
      ...(group === undefined ? {} : { group }),
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
          ? routed.below
            ? "FilteredOut"
            : "NothingToResolve"
          : "SkippedOther",
    );
    deps.log.info("finding skipped", { ...fields, alert: plan.skip, reason: plan.why });
    if (plan.leftToPerson === true)
      deps.log.info("page not written back to Security Hub", {
        ...fields,
        reason: "a person triaged the finding before the page's write-back landed: theirs is not overwritten",
      });
    if (plan.writeBackDue || plan.notice !== undefined)
      deps.writeBack?.(routed, deps.channelService(plan.route), plan.notice);
    return { kind: "skipped" };
  }
  // The alert is leaving another route's service: it is resolved there first, so it is never open on both.
  /** A resolve sent besides the finding's own event, on `route`'s service, with the priority of what it precedes. */
  const resolveOn = async (
    route: string,
    alert: string,
    reason: string,
    priority: SlotPriority = "normal",
  ): Promise<Delivery> => {
    const resolve = { event_action: "resolve" as const, dedup_key: mapped.dedupKey };
    const delivery = await send(deps.channel(route), resolve, deps, context.messageId, deadline, priority);
    deps.log.info("finding outcome", {
      ...fields,
      action: "resolve",
      alert,
      route,
      outcome: delivery.outcome,
      reason,
    });
    return delivery;
  };
  // The finding's alert changed (its own, a group's): the one it leaves is told first, and nothing else until it is.
  // That resolve goes with the place of the page it makes way for: a CRITICAL page waits for nothing else.
  const moveFirst = priorityOf({ event_action: plan.action }, mapped.severityLabel);
  if (plan.leaving === mapped.dedupKey) {
    const left = await resolveOn(
      plan.movingFrom ?? plan.route,
      "moved",
      "its alert is now its group's: its own is resolved",
      moveFirst,
    );
    if (left.outcome !== "accepted") return failed(left, plan, mapped.findingId);
  } else if (plan.leaving !== undefined && context.groups !== undefined) {
    // Confirmed with the finding's own event below; the group's event its leave decides goes out first.
    const leave = { ...plan, action: "resolve" as const, group: plan.leaving, writeBack: false };
    const joined = await context.groups.join(
      routed,
      { ...leave, confirm: () => Promise.resolve(true) },
      deadline,
      moveFirst,
    );
    if (joined.kind !== "skipped") return joined;
    const stopped = (await context.groups.flush(deadline)).find(
      (result) => result.kind !== "sent" && result.kind !== "skipped",
    );
    if (stopped !== undefined) return stopped;
  }
  if (plan.group !== undefined && !context.byHand && !plan.stateUnavailable && context.groups !== undefined) {
    // A member paged by hand had an alert of its own besides its group's: it closes with the finding.
    if (plan.action === "resolve" && plan.state?.byHand === true) {
      const own = await resolveOn(plan.route, "byHand", "its page by hand closes with the finding");
      if (own.outcome !== "accepted") return failed(own, plan, mapped.findingId);
    }
    return context.groups.join(routed, { ...plan, group: plan.group }, deadline);
  }
  if (plan.movingFrom !== undefined && plan.leaving === undefined) {
    const left = await resolveOn(
      plan.movingFrom,
      "moved",
      "its route changed: resolved on the service it leaves",
      moveFirst,
    );
    if (left.outcome !== "accepted") return failed(left, plan, mapped.findingId);
  }
  // A resolve owed for a trigger that reached PagerDuty late is sent with whatever event of the finding comes.
  const owed: PagerDutyEvent =
    plan.action === routed.action ? mapped.event : { event_action: plan.action, dedup_key: mapped.dedupKey };
  const urgency = deps.urgency(plan.route);
  const event =
    urgency === undefined
      ? owed
      : withUrgency(
          owed,
          mapped.severityLabel,
          urgencyOf(
            {
              label: mapped.severityLabel,
              byHand: context.byHand,
              regression: plan.change === "regression",
              ...(context.importedAt === undefined ? {} : { importedAt: context.importedAt }),
            },
            deps.clock.now(),
            urgency,
          ),
        );
  const delivery = await send(
    deps.channel(plan.route),
    event,
    deps,
    context.messageId,
    deadline,
    priorityOf(event, mapped.severityLabel),
  );
  deps.log.info("finding outcome", {
    ...fields,
    action: plan.action,
    alert: plan.change,
    ...(plan.route === DEFAULT_ROUTE ? {} : { route: plan.route }),
    outcome: delivery.outcome,
    pagerdutyStatus: "status" in delivery ? delivery.status : undefined,
    attempts: delivery.attempts,
    ...(delivery.outcome === "rejected" ? { errors: delivery.errors } : {}),
    ...(delivery.outcome === "handBack" ? { reason: delivery.reason } : {}),
    receiveCount: context.receiveCount,
  });
  if (delivery.outcome !== "accepted") return failed(delivery, plan, mapped.findingId);
  if (plan.change === "new" || plan.change === "regression") {
    deps.meter.page(mapped.severityLabel);
    if (context.importedAt !== undefined) deps.meter.importToPage(deps.clock.now() - context.importedAt);
  } else if (plan.change === "moved") {
    deps.meter.count("AlertsMoved");
  } else {
    deps.meter.count(plan.action === "resolve" ? "ResolvesSent" : "AlertsUpdated");
  }
  if (plan.writeBack) deps.writeBack?.(routed, deps.channelService(plan.route));
  if (await plan.confirm(plan.action)) return { kind: "sent" };
  // A responder resolved the alert while the trigger was in flight, which may have opened a new incident.
  const held = await resolveOn(
    plan.route,
    "heldByResponder",
    "a responder resolved the alert while its trigger was in flight",
  );
  if (held.outcome !== "accepted") return failed(held, plan, mapped.findingId);
  await plan.confirm("resolve");
  return { kind: "sent" };
}

/** One event through a route's channel: its routing key read, then sent on its schedule. */
async function send(
  channel: Channel,
  event: PagerDutyEvent,
  deps: FindingDependencies,
  messageId: string,
  deadline: number,
  priority: SlotPriority = "normal",
): Promise<Delivery> {
  let routingKey: string;
  try {
    routingKey = await channel.routingKey(deadline);
  } catch (error) {
    const reason = errorText(error);
    deps.log.error("routing key unavailable", { messageId, error: reason });
    return { outcome: "handBack", reason, rateLimited: false, attempts: 0 };
  }
  return channel.deliver({ ...event, routing_key: routingKey }, deadline, priority);
}

/** PagerDuty did not take the event: the finding is freed for its next event, and the record's fate said. */
async function failed(
  delivery: Exclude<Delivery, { outcome: "accepted" }>,
  plan: { release(attempted: boolean): Promise<void> },
  findingId: string,
): Promise<FindingResult> {
  if (delivery.outcome === "handBack") {
    await plan.release(delivery.attempts > 0);
    return {
      kind: "stop",
      reason: delivery.reason,
      ...(delivery.retryAt === undefined ? {} : { retryAt: delivery.retryAt }),
      ...(delivery.queued === undefined ? {} : { queued: true }),
    };
  }
  await plan.release(true);
  const reason = `PagerDuty rejected finding ${findingId} (HTTP ${delivery.status}): ${delivery.errors.join("; ")}`;
  return { kind: "rejected", reason };
}
