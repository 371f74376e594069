import { groupEvent, groupOf, pageBasisOf, type Grouping } from "../finding/control";
import type { SeverityLabel } from "../finding/model";
import type { PagerDutyEvent } from "../finding/pagerdutyEvent";
import type { Routed } from "../finding/route";
import { DEFAULT_ROUTE, routeOfIntegration } from "../finding/routes";
import { urgencyOf, withUrgency } from "../finding/urgency";
import { applyMemberEvent, settleGroup, type GroupStore } from "../state/groupStore";
import { failingOf, pageOf, type GroupSend, type GroupState } from "../state/groups";
import { CLAIM_MARGIN_MS, type Plan } from "../state/tracker";
import { identityOf } from "../sync/securityHub";
import { joinedNote } from "../sync/webhook";
import { errorText } from "../telemetry/log";
import { priorityOf, type Delivery } from "./delivery";
import type { SlotPriority } from "./pacing";
import type { FindingDependencies, FindingResult } from "./sendFinding";

// With alertPer: control, a member's own alert state decides when it joins or leaves its group (a finding failing,
// passing, archived, suppressed, changing severity); its join or leave goes to the group's record, and what the
// group's decision sends goes out once for the record: the record's members of a group join first, so that its
// page counts them all. The group's event is claimed before it is sent and confirmed after, as a finding's own:
// a crash or a hand-back in between leaves it owed, and the next member's event sends it again.

export interface GroupDependencies {
  /** The group records, in the stack's state table. */
  groups: GroupStore;
  grouping: Grouping;
}

type SendPlan = Extract<Plan, { kind: "send" }>;
type Routing = Extract<Routed, { kind: "send" }>;
type Claimed = Exclude<GroupSend, { send: "nothing" | "wait" }>;

/** The members of one record that joined or left their groups, and each group's event still to send. */
export interface RecordGroups {
  /**
   * A member's claimed plan: its change applied to its group's record, its confirmation left for `flush`. A group's
   * event the change decides goes with `priority` when given (a leave that makes way for the member's CRITICAL page).
   */
  join(
    routed: Routing,
    plan: SendPlan & { group: string },
    deadline: number,
    priority?: SlotPriority,
  ): Promise<FindingResult>;
  /** Sends each group's event the record decided, then confirms its members; answers each member's result. */
  flush(deadline: number): Promise<FindingResult[]>;
}

/** A group's change in the words of a finding's alert, as logs and the walk-through read them. */
const ALERT_CHANGES: Record<Claimed["change"], string> = {
  open: "new",
  reopen: "regression",
  escalate: "update",
  close: "resolve",
  retry: "retry",
};

interface Member {
  routed: Routing;
  plan: SendPlan;
}

export function createRecordGroups(
  deps: FindingDependencies & GroupDependencies,
  context: { messageId: string; importedAt?: number },
): RecordGroups {
  /** Per group: the latest record this record's members wrote, the claim to send and its member, and the members waiting on it. */
  const touched = new Map<
    string,
    { claimed?: Claimed; claimant?: Member; members: Member[]; priority?: SlotPriority }
  >();

  const fieldsOf = (routed: Routing) => ({
    messageId: context.messageId,
    findingId: routed.mapped.findingId,
    action: routed.action,
    severity: routed.mapped.severityLabel,
  });

  const confirmMember = async ({ routed, plan }: Member, group: GroupState | undefined): Promise<void> => {
    if (plan.writeBack) {
      const joined = group === undefined ? undefined : joinedNote(group);
      deps.writeBack?.(
        routed,
        deps.channelService(plan.route),
        joined === undefined ? undefined : { joined },
      );
    }
    await plan.confirm(plan.action);
  };

  return {
    async join(routed, plan, deadline, priority) {
      const { finding, mapped } = routed;
      const { route } = routeOfIntegration(plan.route);
      const identity = groupOf(finding, deps.grouping, route === DEFAULT_ROUTE ? undefined : route);
      const ownGroup = identity?.dedupKey === plan.group ? identity : undefined;
      let decision: GroupSend;
      try {
        decision = await applyMemberEvent(
          deps.groups,
          { member: mapped.dedupKey, action: plan.action, severity: mapped.severityLabel },
          plan.group,
          {
            now: deps.clock.now(),
            claimUntil: deadline + CLAIM_MARGIN_MS,
            ...(plan.route === DEFAULT_ROUTE ? {} : { route: plan.route }),
            ...(ownGroup === undefined ? {} : { page: pageBasisOf(finding, ownGroup) }),
            resources: finding.resources,
            finding: identityOf(finding),
          },
        );
      } catch (error) {
        deps.meter.count("StateTableFailures");
        await plan.release(false);
        const reason = `group ${plan.group}: ${errorText(error)}`;
        deps.log.warn("group record unavailable; the finding is tried again", {
          dedupKey: mapped.dedupKey,
          reason,
        });
        return { kind: "stop", reason };
      }
      if (decision.send === "wait") {
        await plan.release(false);
        deps.log.info("finding waits", {
          dedupKey: mapped.dedupKey,
          group: plan.group,
          reason: decision.why,
        });
        return {
          kind: "wait",
          reason: decision.why,
          retryAt: Math.min(decision.until, deps.clock.now() + 2_000),
        };
      }
      const entry = touched.get(plan.group) ?? { members: [] };
      touched.set(plan.group, entry);
      if (decision.send === "nothing") {
        deps.log.info("finding skipped", {
          ...fieldsOf(routed),
          dedupKey: mapped.dedupKey,
          group: plan.group,
          alert: "groupMember",
          reason: decision.why,
        });
        // Its group's event, if one is owed for this record, carries its change too: confirmed with it.
        if (entry.claimed !== undefined) {
          if (decision.next !== undefined) entry.claimed = { ...entry.claimed, next: decision.next };
          entry.members.push({ routed, plan });
        } else await confirmMember({ routed, plan }, decision.next);
        return { kind: "skipped" };
      }
      entry.claimed = decision;
      if (priority !== undefined) entry.priority = priority;
      entry.claimant = { routed, plan };
      entry.members.push(entry.claimant);
      return { kind: "skipped" };
    },

    async flush(deadline) {
      const results: FindingResult[] = [];
      for (const [key, { claimed, claimant, members, priority }] of touched) {
        touched.delete(key);
        if (claimed === undefined || claimant === undefined) continue;
        results.push(...(await sendGroup(key, claimed, claimant, members, deadline, priority)));
      }
      return results;
    },
  };

  async function sendGroup(
    key: string,
    claimed: Claimed,
    claimant: Member,
    members: Member[],
    deadline: number,
    priority: SlotPriority | undefined,
  ): Promise<FindingResult[]> {
    const { next } = claimed;
    const route = next.route ?? DEFAULT_ROUTE;
    const { event, label } = eventOf(claimed, route, members[0]?.routed);
    const channel = deps.channel(route);
    let delivery: Delivery;
    try {
      const routingKey = await channel.routingKey(deadline);
      delivery = await channel.deliver(
        { ...event, routing_key: routingKey },
        deadline,
        priority ?? priorityOf(event, label),
      );
    } catch (error) {
      delivery = { outcome: "handBack", reason: errorText(error), rateLimited: false, attempts: 0 };
    }
    // The member whose change sent the group's event logs its outcome, under the group's dedup key.
    deps.log.info("finding outcome", {
      ...fieldsOf(claimant.routed),
      dedupKey: key,
      group: key,
      action: event.event_action,
      alert: ALERT_CHANGES[claimed.change],
      members: members.length,
      failing: failingOf(next),
      ...(route === DEFAULT_ROUTE ? {} : { route }),
      outcome: delivery.outcome,
      ...("status" in delivery ? { pagerdutyStatus: delivery.status } : {}),
      attempts: delivery.attempts,
      ...(delivery.outcome === "rejected" ? { errors: delivery.errors } : {}),
      ...(delivery.outcome === "handBack" ? { reason: delivery.reason } : {}),
    });
    const now = deps.clock.now();
    if (delivery.outcome !== "accepted") {
      const attempted = delivery.outcome === "rejected" || delivery.attempts > 0;
      await settle(next, { sent: false, attempted }, now);
      for (const { plan } of members) await plan.release(attempted);
      if (delivery.outcome === "rejected") {
        const reason = `PagerDuty rejected group ${key} (HTTP ${delivery.status}): ${delivery.errors.join("; ")}`;
        return members.map(() => ({ kind: "rejected", reason }));
      }
      const stop: FindingResult = {
        kind: "stop",
        reason: delivery.reason,
        ...(delivery.retryAt === undefined ? {} : { retryAt: delivery.retryAt }),
        ...(delivery.queued === undefined ? {} : { queued: true }),
      };
      return members.map(() => stop);
    }
    if (claimed.change === "open" || claimed.change === "reopen") {
      deps.meter.page(next.paged ?? members[0]?.routed.mapped.severityLabel ?? "HIGH");
      if (context.importedAt !== undefined) deps.meter.importToPage(now - context.importedAt);
    } else deps.meter.count(event.event_action === "resolve" ? "ResolvesSent" : "AlertsUpdated");
    await settle(next, { sent: true }, now);
    for (const member of members) await confirmMember(member, next);
    return members.map(() => ({ kind: "sent" }));
  }

  /** The group's settle is best effort: an unconfirmed claim only makes the next member's event send it again. */
  async function settle(next: GroupState, outcome: Parameters<typeof settleGroup>[2], now: number) {
    try {
      await settleGroup(deps.groups, next, outcome, now);
    } catch (error) {
      deps.meter.count("StateTableFailures");
      deps.log.warn("group record settle failed", { group: next.dedupKey, error: errorText(error) });
    }
  }

  /**
   * The group's event as its latest record says (its members of now, counted and the first few shown), and the
   * severity it pages at.
   */
  function eventOf(
    claimed: Claimed,
    route: string,
    member: Routing | undefined,
  ): { event: PagerDutyEvent; label: SeverityLabel } {
    const { next } = claimed;
    const memberLabel = member?.mapped.severityLabel ?? "HIGH";
    if (claimed.send === "resolve")
      return { event: { event_action: "resolve", dedup_key: next.dedupKey }, label: memberLabel };
    const page = pageOf(next, memberLabel);
    // A record without a page (its group opened under other grouping settings) pages with a member's own body.
    if (page === undefined)
      return {
        event: { ...(member?.mapped.event ?? { event_action: "trigger" }), dedup_key: next.dedupKey },
        label: memberLabel,
      };
    const event = groupEvent(page);
    const policy = deps.urgency(route);
    if (policy === undefined) return { event, label: page.highest };
    const paged = withUrgency(
      event,
      page.highest,
      urgencyOf(
        {
          label: page.highest,
          byHand: false,
          regression: claimed.change === "reopen",
          ...(context.importedAt === undefined ? {} : { importedAt: context.importedAt }),
        },
        deps.clock.now(),
        policy,
      ),
    );
    return { event: paged, label: page.highest };
  }
}
