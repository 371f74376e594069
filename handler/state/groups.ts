import { hash } from "crypto";
import { higherSeverity, type GroupPage } from "../finding/control";
import type { Resource, SeverityLabel } from "../finding/model";
import type { FindingIdentity } from "./alerts";

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
  /**
   * Failing members past the listed bound, each as a 12-character digest of its key (15 bytes where a listed
   * member costs about 350 with its identity): counted in and out exactly, not written back to.
   */
  unlisted?: string[];
  /**
   * The status recorded has not been confirmed sent: the invocation that claimed it sends it until `until`
   * (epoch ms); past that, any member's event sends it again. `version` is the record's version the claim wrote.
   */
  claim?: { version: number; until: number };
  /** The route whose service holds the group's alert; absent: the default route. */
  route?: string;
  /** What the page says of the group, kept so that any member's event can send it again. */
  page?: GroupPageBasis;
  /** The resources of the first few failing members, for the page. */
  shown?: { member: string; resources: Resource[] }[];
  /** The PagerDuty incident the group's alert is part of, once a webhook named it. */
  incident?: { id: string; number?: number; url?: string };
  /** The listed members' identities in Security Hub, for the write-back of the group's incident to each. */
  findings?: Record<string, FindingIdentity>;
  version: number;
}

/** The parts of a group's page that do not change with its members. */
export type GroupPageBasis = Omit<GroupPage, "failing" | "resources" | "highest">;

/** How many members a group's record lists (key, severity, identity), then counts by digest. */
export interface GroupBounds {
  listed: number;
  counted: number;
}

/** About 175 KB listed and 150 KB counted: the record stays below DynamoDB's 400 KB item. */
export const GROUP_BOUNDS: GroupBounds = { listed: 500, counted: 10_000 };

/** A member's key as the record counts it past the listed bound. */
export function memberDigest(member: string): string {
  return hash("sha256", member, "base64url").slice(0, 12);
}

export interface MemberEvent {
  /** The member's own dedup key. */
  member: string;
  action: "trigger" | "resolve";
  severity: SeverityLabel;
}

/** How many members fail now: the listed and the counted. */
export function failingOf(state: GroupState): number {
  return Object.keys(state.members).length + (state.unlisted?.length ?? 0);
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
  bounds: GroupBounds = GROUP_BOUNDS,
): GroupDecision {
  const members: Record<string, SeverityLabel> = { ...state?.members };
  const unlisted = new Set(state?.unlisted);
  const version = (state?.version ?? 0) + 1;
  const held = state?.heldMembers ?? [];
  const digest = memberDigest(event.member);
  const counted = (next: GroupState): GroupState => {
    if (unlisted.size > 0) next.unlisted = [...unlisted];
    else delete next.unlisted;
    return next;
  };
  if (event.action === "resolve") {
    if (state === undefined || !(event.member in members || unlisted.has(digest)))
      return { send: "nothing", why: "not a failing member of the group", next: undefined };
    const remaining = Object.fromEntries(
      Object.entries(members).filter(([member]) => member !== event.member),
    );
    unlisted.delete(digest);
    const heldMembers = held.filter((member) => member !== event.member && member !== digest);
    const left = Object.keys(remaining).length + unlisted.size;
    if (left === 0 && state.status === "open")
      return {
        send: "resolve",
        change: "close",
        why: "its last failing member passed",
        next: { dedupKey, status: "resolved", members: remaining, closedBy: "finding", version },
      };
    const next: GroupState = counted({ ...state, members: remaining, version });
    if (heldMembers.length > 0) next.heldMembers = heldMembers;
    else delete next.heldMembers;
    return {
      send: "nothing",
      why: left === 0 ? "its alert is resolved already" : `${left} member(s) still fail`,
      next,
    };
  }

  const known = event.member in members || unlisted.has(digest);
  if (!known || event.member in members) {
    // Past the listed bound a member is kept as a short digest, past both it is not recorded (the page's live list
    // still shows it): the record stays below DynamoDB's 400 KB item.
    if (event.member in members || Object.keys(members).length < bounds.listed)
      members[event.member] = event.severity;
    else if (unlisted.size < bounds.counted) unlisted.add(digest);
  }
  const highest = higherSeverity(highestOf(members) ?? event.severity, event.severity);
  if (state === undefined || state.status === "resolved") {
    if (state?.closedBy === "responder" && (held.includes(event.member) || held.includes(digest)))
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
      next: counted({ dedupKey, status: "open", members, paged: highest, version }),
    };
  }
  const paged = state.paged ?? highest;
  if (higherSeverity(paged, highest) !== paged)
    return {
      send: "update",
      change: "escalate",
      why: `a ${highest} member joined a ${paged} group`,
      next: counted({ ...state, members, paged: highest, version }),
    };
  const unchanged = known
    ? state.members[event.member] === undefined || state.members[event.member] === event.severity
    : Object.keys(members).length + unlisted.size === failingOf(state);
  if (unchanged) return { send: "nothing", why: "unchanged member of the open group", next: undefined };
  const next = counted({ ...state, members, version });
  return {
    send: "nothing",
    why: `the group's alert is open (${failingOf(next)} member(s))`,
    next,
  };
}

/** A responder resolved the group's incident: its current members are held until they pass and fail again. */
export function resolvedByResponder(state: GroupState): GroupState {
  return {
    ...state,
    status: "resolved",
    closedBy: "responder",
    heldMembers: [...Object.keys(state.members), ...(state.unlisted ?? [])],
    version: state.version + 1,
  };
}

/** What a member's event sends for its group, once the group's own claim is taken into account. */
export type GroupSend =
  | Exclude<GroupDecision, { send: "nothing" }>
  | { send: "trigger" | "resolve"; change: "retry"; why: string; next: GroupState }
  | { send: "nothing"; why: string; next: GroupState | undefined }
  /** Another invocation is sending the group's alert: decide again once it is done (by `until`). */
  | { send: "wait"; why: string; until: number };

/** What the member's invocation knows besides the event: the moment, its claim's end, the member's page. */
export interface MemberContext {
  now: number;
  /** Until when (epoch ms) a claim this invocation takes holds. */
  claimUntil: number;
  /** The route the member takes now (absent: the default route): a group that opens opens there. */
  route?: string;
  /** The member's view of the group's page, for a group it opens. */
  page?: GroupPageBasis;
  resources: Resource[];
  finding?: FindingIdentity;
}

/** The group's page as its record says it now (undefined: the record never had one). */
export function pageOf(state: GroupState, fallback: SeverityLabel): GroupPage | undefined {
  if (state.page === undefined) return undefined;
  return {
    ...state.page,
    failing: failingOf(state),
    resources: (state.shown ?? []).flatMap((shown) => shown.resources),
    highest: state.paged ?? highestOf(state.members) ?? fallback,
  };
}

/** Members whose resources a page lists, at most. */
const SHOWN_MEMBERS = 10;

/** The fields decideGroup does not know of, carried over to the record it decided. */
function carried(
  state: GroupState | undefined,
  next: GroupState,
  event: MemberEvent,
  context: MemberContext,
  opens: boolean,
): GroupState {
  const result: GroupState = { ...next };
  const route = opens ? context.route : state?.route;
  if (route === undefined) delete result.route;
  else result.route = route;
  const page = (opens ? context.page : undefined) ?? state?.page;
  if (page !== undefined) result.page = page;
  const listed = (member: string) => member in next.members;
  const shown = (state?.shown ?? []).filter((entry) => listed(entry.member));
  if (
    event.action === "trigger" &&
    listed(event.member) &&
    shown.length < SHOWN_MEMBERS &&
    context.resources.length > 0 &&
    !shown.some((entry) => entry.member === event.member)
  )
    shown.push({ member: event.member, resources: context.resources });
  if (shown.length > 0) result.shown = shown;
  else delete result.shown;
  const findings = Object.fromEntries(
    Object.entries(state?.findings ?? {}).filter(([member]) => listed(member)),
  );
  if (context.finding !== undefined && event.action === "trigger" && listed(event.member))
    findings[event.member] = context.finding;
  if (Object.keys(findings).length > 0) result.findings = findings;
  else delete result.findings;
  // A group that opens again is a new alert: its incident is named by its own webhook.
  if (opens || state?.incident === undefined) delete result.incident;
  else result.incident = state.incident;
  if (state?.claim !== undefined && !opens) result.claim = state.claim;
  return result;
}

/**
 * Pure: decideGroup, then the group's own claim. The group's events go out one at a time, claimed before they are
 * sent and confirmed after: a change that would send while another invocation's claim holds waits; a status
 * recorded but never confirmed (its sender crashed or was handed back) is sent again by the next member's event,
 * as a finding's own unconfirmed event is.
 */
export function decideGroupSend(
  state: GroupState | undefined,
  event: MemberEvent,
  dedupKey: string,
  context: MemberContext,
  bounds: GroupBounds = GROUP_BOUNDS,
): GroupSend {
  const decision = decideGroup(state, event, dedupKey, bounds);
  const claim = state?.claim;
  const holds = claim !== undefined && claim.until > context.now;
  const claimed = (next: GroupState): GroupState => ({
    ...next,
    claim: { version: next.version, until: context.claimUntil },
  });
  if (decision.send !== "nothing") {
    if (holds)
      return { send: "wait", why: "another invocation is sending the group's alert", until: claim.until };
    const opens = decision.send === "trigger";
    const next = claimed(carried(state, decision.next, event, context, opens));
    return { ...decision, next };
  }
  if (claim !== undefined && !holds && state !== undefined) {
    const base = decision.next === undefined || decision.next === state ? state : decision.next;
    const next = claimed({ ...carried(state, base, event, context, false), version: state.version + 1 });
    return {
      send: next.status === "open" ? "trigger" : "resolve",
      change: "retry",
      why: "the group's last event may not have reached PagerDuty",
      next,
    };
  }
  if (decision.next === undefined || decision.next === state) return decision;
  return { ...decision, next: carried(state, decision.next, event, context, false) };
}

/** The claim's send was accepted: the record no longer owes it. */
export function confirmedGroup(current: GroupState): GroupState {
  const { claim: _claim, ...confirmed } = current;
  return { ...confirmed, version: current.version + 1 };
}
