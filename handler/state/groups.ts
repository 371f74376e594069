import { higherSeverity } from "../finding/control";
import type { SeverityLabel } from "../finding/model";

// A group's lifecycle (one alert per failing control and account): what PagerDuty is told as members join,
// leave and fail again. Pure, like the per-finding decision in alerts.ts, and kept apart from it: a group's record
// is its own item, written only if it is still at the version read, so members passing at once in two lanes
// each decide again on what the other wrote and the last one out closes the group.

export interface GroupState {
  /** The group's alert key. */
  dedupKey: string;
  status: "open" | "resolved";
  /** The failing members (by each finding's own dedup key) and their severity. */
  members: Record<string, SeverityLabel>;
  /** The severity the group's open alert was last sent with. */
  paged?: SeverityLabel;
  closedBy?: "finding" | "responder";
  /** Members present when a responder resolved the group: they do not page it again until they pass and fail. */
  heldMembers?: string[];
  version: number;
}

export interface MemberEvent {
  /** The member's own dedup key. */
  member: string;
  action: "trigger" | "resolve";
  severity: SeverityLabel;
}

/**
 * What a change of membership sends. Joining and leaving send nothing while the group stays open: PagerDuty keeps
 * an alert's first body (a later trigger only appends to its log), so a new count would not show on the page; the
 * page links the live list instead. The one update sent is when the highest severity rises (a CRITICAL member
 * joining a HIGH group): its trigger appends the new summary to the alert's log rather than being absorbed.
 */
export type GroupDecision =
  | { send: "trigger"; change: "open" | "reopen"; why: string; next: GroupState }
  | { send: "update"; change: "escalate"; why: string; next: GroupState }
  | { send: "resolve"; change: "close"; why: string; next: GroupState }
  | { send: "nothing"; why: string; next: GroupState | undefined };

function highestOf(members: Record<string, SeverityLabel>): SeverityLabel | undefined {
  return Object.values(members).reduce<SeverityLabel | undefined>(
    (highest, severity) => (highest === undefined ? severity : higherSeverity(highest, severity)),
    undefined,
  );
}

/** Pure: what one member's event does to its group. */
export function decideGroup(
  state: GroupState | undefined,
  event: MemberEvent,
  dedupKey: string,
): GroupDecision {
  const members: Record<string, SeverityLabel> = { ...state?.members };
  const version = (state?.version ?? 0) + 1;
  const held = state?.heldMembers ?? [];
  if (event.action === "resolve") {
    if (state === undefined || !(event.member in members))
      return { send: "nothing", why: "not a failing member of the group", next: undefined };
    const remaining = Object.fromEntries(
      Object.entries(members).filter(([member]) => member !== event.member),
    );
    const heldMembers = held.filter((member) => member !== event.member);
    const left = Object.keys(remaining).length;
    if (left === 0 && state.status === "open")
      return {
        send: "resolve",
        change: "close",
        why: "its last failing member passed",
        next: { dedupKey, status: "resolved", members: remaining, closedBy: "finding", version },
      };
    const next: GroupState = { ...state, members: remaining, version };
    if (heldMembers.length > 0) next.heldMembers = heldMembers;
    else delete next.heldMembers;
    return {
      send: "nothing",
      why: left === 0 ? "its alert is resolved already" : `${left} member(s) still fail`,
      next,
    };
  }

  members[event.member] = event.severity;
  const highest = highestOf(members) ?? event.severity;
  if (state === undefined || state.status === "resolved") {
    if (state?.closedBy === "responder" && held.includes(event.member))
      return {
        send: "nothing",
        why: "a responder resolved the group's alert; it pages again when a member fails after passing",
        next: state,
      };
    const change = state === undefined ? "open" : "reopen";
    return {
      send: "trigger",
      change,
      why:
        change === "open" ? "its first failing member" : "a member fails again after the group was resolved",
      next: { dedupKey, status: "open", members, paged: highest, version },
    };
  }
  const paged = state.paged ?? highest;
  if (higherSeverity(paged, highest) !== paged)
    return {
      send: "update",
      change: "escalate",
      why: `a ${highest} member joined a ${paged} group`,
      next: { ...state, members, paged: highest, version },
    };
  if (state.members[event.member] === event.severity)
    return { send: "nothing", why: "unchanged member of the open group", next: undefined };
  return {
    send: "nothing",
    why: `the group's alert is open (${Object.keys(members).length} member(s))`,
    next: { ...state, members, version },
  };
}

/** A responder resolved the group's incident: its current members are held until they pass and fail again. */
export function resolvedByResponder(state: GroupState): GroupState {
  return {
    ...state,
    status: "resolved",
    closedBy: "responder",
    heldMembers: Object.keys(state.members),
    version: state.version + 1,
  };
}
