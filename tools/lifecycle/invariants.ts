// The lifecycle's invariants, checked on what a settled world shows. Pure: the world gathers an Observation,
// this says what is wrong with it. Findings map to alert keys through a grouping function, so that one alert per
// group of findings (alertPer: control) is checked the same way: a group's alert is expected open when any of its
// members is.

/** A finding as the checker sees it. */
export interface Member {
  name: string;
  dedupKey: string;
  /** The stack's filter pages on it as Security Hub now holds it (any of its feeds). */
  failing: boolean;
  /** A responder resolved its alert while it was failing, and it has not passed since. */
  held: boolean;
  /** Its ids in Security Hub (ASFF Id, OCSF finding_info.uid): how a write-back names it. */
  findingIds: string[];
  /** Security Hub can be told of it (the product and, in OCSF, the account are known). */
  writable: boolean;
  /** The group its alert is (alertPer: control); absent: its own. */
  alertKey?: string;
}

export interface ObservedAlert {
  dedupKey: string;
  incidentId: string;
  open: boolean;
  openedAt: number;
  /** The last one to resolve it was a responder. */
  resolvedByResponder: boolean;
}

export interface ObservedRequest {
  at: number;
  dedupKey: string;
  action: string;
  status: number | "timeout";
  change?: "opened" | "updated" | "resolved" | "none";
  /** The sender never heard it was accepted: its answer was lost, or its invocation was stopped. */
  unheard: boolean;
  /** The invocation that sent it. */
  sender?: number;
}

export interface ObservedWebhook {
  id: string;
  type: string;
  dedupKey: string;
  state: "pending" | "delivered" | "dropped";
  taken: boolean;
  attempts: string[];
}

export interface Observation {
  members: Member[];
  alerts: ObservedAlert[];
  requests: ObservedRequest[];
  webhooks: ObservedWebhook[];
  /** Records put in a lane that were neither processed nor dead-lettered with a reason, and why. */
  unexplainedRecords: string[];
  /** Security Hub's accepted updates: the finding ids each named, its note, whether it set Workflow NOTIFIED. */
  securityHubUpdates: { findingIds: string[]; note: string; notified: boolean; at: number }[];
  securityHubSync: boolean;
  /** Invocations stopped mid-way (Lambda timeouts, abandoned), with the findings of their records. */
  stopped: { at: number; dedupKeys: string[] }[];
  /** When a responder reopened a finding's alert in PagerDuty. */
  reopenings: { at: number; dedupKey: string }[];
  /** When a responder resolved a finding's alert in PagerDuty. */
  resolutions: { at: number; dedupKey: string }[];
  /** When the delivery function logged that it left a page's write-back to a person's triage, and of which finding. */
  writeBacksLeft: { at: number; dedupKey: string }[];
  /** When a person changed a finding's workflow in the Security Hub console (with a note of their own). */
  consoleChanges: { at: number; dedupKey: string }[];
  /** When the world started (epoch ms), for readable times. */
  start: number;
  /** When each invocation ran (until it returned or was stopped). */
  invocations: { id: number; from: number; to: number }[];
}

/** Which alert a finding belongs to: its own (one alert per finding), or its group's. */
export type AlertKeyOf = (member: Member) => string;
export const alertPerFinding: AlertKeyOf = (member) => member.dedupKey;
/** The stack's own grouping: a member's group, else its own alert. */
export const alertPerStack: AlertKeyOf = (member) => member.alertKey ?? member.dedupKey;

/**
 * When the world has settled, every invariant but the write-back, which the stack retries at the finding's next
 * import; once the next scan has been imported and the world settled again, all of them.
 */
export type Phase = "settled" | "rescanned";

export function checkInvariants(
  observation: Observation,
  phase: Phase,
  alertKeyOf: AlertKeyOf = alertPerFinding,
): string[] {
  return [
    ...openExactlyWhenFailing(observation, alertKeyOf),
    ...oneRequestPerChange(observation),
    ...nothingLost(observation),
    ...(phase === "rescanned" ? pagesWrittenBack(observation, alertKeyOf) : []),
  ];
}

function groups(observation: Observation, alertKeyOf: AlertKeyOf): Map<string, Member[]> {
  const byKey = new Map<string, Member[]>();
  for (const member of observation.members) {
    const key = alertKeyOf(member);
    byKey.set(key, [...(byKey.get(key) ?? []), member]);
  }
  return byKey;
}

/** PagerDuty's alert is open exactly when a member fails within the filter and no responder's resolution holds it. */
function openExactlyWhenFailing(observation: Observation, alertKeyOf: AlertKeyOf): string[] {
  const violations: string[] = [];
  for (const [key, members] of groups(observation, alertKeyOf)) {
    const names = members.map((member) => member.name).join(", ");
    const expected = members.some((member) => member.failing && !member.held);
    const open = observation.alerts.filter((alert) => alert.dedupKey === key && alert.open);
    if (open.length > 1) violations.push(`${names}: ${open.length} open alerts, at most one may be`);
    const state = members
      .map(
        (member) =>
          `${member.name} ${member.failing ? "failing" : "not failing"}${member.held ? ", held by a responder" : ""}`,
      )
      .join("; ");
    if (expected && open.length === 0) violations.push(`${names}: no open alert, though ${state}`);
    if (!expected && open.length > 0) violations.push(`${names}: alert left open, though ${state}`);
  }
  return violations;
}

/**
 * No change of an alert costs more than one accepted request: every accepted event opens, updates or resolves an
 * alert, except one after a request whose fate its sender could not record (no answer, refused, or the sender
 * stopped: the claim stays unconfirmed and the event is sent again to be sure), a resolve of an alert a responder
 * had resolved already (the stack could not know yet) or a trigger of one a responder reopened (likewise), and a
 * request after two senders raced on the alert (neither can know in which order PagerDuty took their events, so the
 * stack resolves or triggers once more to be sure).
 */
function oneRequestPerChange(observation: Observation): string[] {
  const violations: string[] = [];
  observation.requests.forEach((request, index) => {
    if (request.status !== 202 || request.change !== "none") return;
    const earlier = observation.requests
      .slice(0, index)
      .filter((other) => other.dedupKey === request.dedupKey);
    const previous = earlier.at(-1);
    const previousAccepted = earlier.filter((other) => other.status === 202).at(-1);
    // The sender of the previous one could not record its fate: the claim stays unconfirmed, and is sent again.
    const since = previousAccepted?.at ?? -Infinity;
    const uncertain =
      (previous !== undefined && (previous.status !== 202 || previous.unheard)) ||
      observation.stopped.some(
        (stop) => stop.dedupKeys.includes(request.dedupKey) && stop.at >= since && stop.at <= request.at,
      );
    const raceBefore =
      raced(observation, request) || (previousAccepted !== undefined && raced(observation, previousAccepted));
    // A resolve of an alert a responder resolved since the last request PagerDuty took for it (the stack could not
    // know yet), whatever the responder did after.
    const responderClosed =
      request.action === "resolve" &&
      observation.resolutions.some(
        (resolution) =>
          resolution.dedupKey === request.dedupKey && resolution.at > since && resolution.at <= request.at,
      );
    // Its mirror: a trigger of an alert a responder reopened since the last request PagerDuty took for it.
    const responderReopened =
      request.action === "trigger" &&
      observation.reopenings.some(
        (reopening) =>
          reopening.dedupKey === request.dedupKey && reopening.at > since && reopening.at < request.at,
      );
    if (uncertain || raceBefore || responderClosed || responderReopened) return;
    const name = observation.members.find((member) => member.dedupKey === request.dedupKey)?.name;
    violations.push(
      `${name ?? request.dedupKey}: an accepted ${request.action} at +${Math.round(request.at - observation.start)} ms changed nothing (a second request for one change)`,
    );
  });
  return violations;
}

/** Another invocation, running at the same time as this one's sender, sent an accepted request for the alert. */
function raced(observation: Observation, request: ObservedRequest): boolean {
  const span = (id: number | undefined) => observation.invocations.find((invocation) => invocation.id === id);
  const own = span(request.sender);
  if (own === undefined) return false;
  return observation.requests.some((other) => {
    const theirs = span(other.sender);
    return (
      other.dedupKey === request.dedupKey &&
      other.status === 202 &&
      theirs !== undefined &&
      theirs.id !== own.id &&
      theirs.from <= own.to &&
      own.from <= theirs.to
    );
  });
}

/** No record, webhook or write-back is lost or left unexplained. */
function nothingLost(observation: Observation): string[] {
  const violations = observation.unexplainedRecords.map((record) => `record lost: ${record}`);
  for (const webhook of observation.webhooks) {
    const what = `webhook ${webhook.id} (${webhook.type}) answered [${webhook.attempts.join(", ")}]`;
    if (webhook.state === "dropped") violations.push(`${what}: PagerDuty dropped it for good`);
    else if (webhook.state === "pending") violations.push(`${what}: never delivered`);
    else if (!webhook.taken) violations.push(`${what}: never applied, only answered "duplicate"`);
  }
  return violations;
}

/** When the stack set out to page an alert: the start of the invocation whose request PagerDuty opened it with. */
function pageBegan(observation: Observation, alert: ObservedAlert): number {
  const opening = observation.requests.find(
    (request) =>
      request.dedupKey === alert.dedupKey && request.change === "opened" && request.at === alert.openedAt,
  );
  const sender = observation.invocations.find((invocation) => invocation.id === opening?.sender);
  return sender?.from ?? alert.openedAt;
}

/** With the sync, every alert open at the end has its page written back to Security Hub. */
function pagesWrittenBack(observation: Observation, alertKeyOf: AlertKeyOf): string[] {
  if (!observation.securityHubSync) return [];
  const violations: string[] = [];
  for (const [key, members] of groups(observation, alertKeyOf)) {
    for (const alert of observation.alerts.filter(
      (candidate) => candidate.dedupKey === key && candidate.open,
    )) {
      const writable = members.filter((member) => member.writable);
      if (writable.length === 0) continue;
      // The page's note, or (docs/sync.md) NOTIFIED with a note of the open incident: an acknowledgement that
      // lands before the page's own write-back takes its place, and so does a responder's reopening.
      // Also as docs/sync.md says: a write-back that had not landed when a person triaged the finding (once the
      // stack set out to page it) is left to them, and the function logs that it left it.
      const began = pageBegan(observation, alert);
      const since = (entry: { at: number; dedupKey: string }) =>
        entry.at >= began && members.some((member) => member.dedupKey === entry.dedupKey);
      const leftToPerson = observation.consoleChanges.some(since) && observation.writeBacksLeft.some(since);
      const written =
        leftToPerson ||
        observation.securityHubUpdates.some(
          (update) =>
            update.at >= alert.openedAt &&
            (update.note.includes("Paged on-call") ||
              (update.notified && update.note.includes(`/incidents/${alert.incidentId}`))) &&
            writable.some((member) => member.findingIds.some((id) => update.findingIds.includes(id))),
        );
      if (!written)
        violations.push(
          `${members.map((member) => member.name).join(", ")}: incident ${alert.incidentId} is open, its page never written back to Security Hub`,
        );
    }
  }
  return violations;
}
