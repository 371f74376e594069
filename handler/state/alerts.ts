import { DEFAULT_ROUTE, routeOfIntegration } from "../finding/routes";
import {
  BY_PERSON,
  heldOf,
  lastBefore,
  openOf,
  sameHistory,
  withFact,
  type Fact,
  type FactKind,
  type History,
} from "./history";

// Alert state: what PagerDuty has been told about each finding, so that the function sends one request per change
// of an alert instead of one per import. Pure: the decision of what to do with an incoming trigger or resolve,
// given the stored state. The store (DynamoDB in a deployment) lives at the edge.

export type FindingFormat = "asff" | "ocsf";

/** How Security Hub names a finding: ASFF by Id and ProductArn, OCSF by account, finding_info.uid and product uid. */
export interface FindingIdentity {
  id: string;
  productArn?: string;
  format?: FindingFormat;
  /** OCSF: cloud.account.uid. */
  account?: string;
}

/** One item per finding that paged, or whose resolution was seen (remembered for a while). */
export interface AlertState {
  dedupKey: string;
  status: "open" | "resolved";
  /** The finding's UpdatedAt (epoch ms) of the last event recorded; 0 when the finding carried none. */
  updatedAt: number;
  /**
   * What the page showed (severity, title, resources, compliance status), per format of the finding: the new
   * Security Hub's OCSF copy of a finding words it differently from its ASFF copy, and each is compared with its own.
   */
  fingerprints: Partial<Record<FindingFormat, string>>;
  /** When PagerDuty accepted the last event; absent while an event is being sent (claimed, not confirmed). */
  sentAt?: number;
  /**
   * The invocation sending the recorded status right now: its claim (the version it wrote) holds until `until`
   * (epoch ms), past which it can have no request left in flight. One event of a finding is in flight at a time,
   * so PagerDuty receives a finding's events in the order they were decided.
   */
  claim?: { version: number; until: number };
  /** Who closed a resolved alert: the finding's own update, or a responder in PagerDuty. */
  closedBy?: "finding" | "responder";
  /** Whether an alert was ever opened for the finding (false: only its resolution is remembered). */
  paged: boolean;
  /** The open alert was paged by a person: the finding's severity falling below the filter does not close it. */
  byHand?: true;
  /** Every write checks the version it read: two invocations on the same finding cannot both win. */
  version: number;
  /** The finding, so that a PagerDuty incident can be traced back to it and Security Hub updated. */
  finding?: FindingIdentity;
  /** The page is still to be written back to Security Hub (retried at the finding's next import). */
  writeBack?: "due";
  /** The PagerDuty incident the alert is part of, once a webhook named it. */
  incident?: { id: string; number?: number; url?: string };
  /** The route whose service holds the alert; absent: the default route. */
  route?: string;
  /** The alert is moving from this route's service (resolved there, opened on `route`) until the move is confirmed. */
  movingFrom?: string;
  /**
   * When the current alert was opened (its trigger claimed): a webhook event of an incident that occurred before
   * belongs to an older alert of the finding.
   */
  openedAt?: number;
  /** A responder reopened the alert in PagerDuty (after resolving it), and no one closed it since. */
  reopened?: true;
  /**
   * The alert opened after a responder acted on an earlier alert of the finding: the RESOLVED the webhook function
   * writes for a responder's resolution (after recording its hold) can land after that, when Security Hub throttled
   * it, and a later note of the stack's keeps it shown.
   */
  pastResolution?: true;
  /**
   * The group (its alert key) the finding's alert is a member of, with alertPer: control: its events go to the
   * group's record and page; absent: the finding's alert is its own.
   */
  group?: string;
  /**
   * The alert the finding's alert is leaving (its own dedup key, or its former group's) because its group changed
   * (its severity crossed criticalAlone, alertPer changed): that alert is told first, until the move is confirmed.
   */
  leaving?: string;
  /**
   * The alert was closed while its finding still failed (a workflow RESOLVED set in the console, a severity below
   * the filter), at the latest at this time (0 when unknown): a responder's resolution in PagerDuty that may have
   * come before it still holds the finding.
   */
  stillFailing?: number;
  /**
   * When the latest responder's resolution or reopening of the current incident that was applied occurred:
   * PagerDuty retries a failed delivery later, so an older one arriving after it is superseded.
   */
  responderAt?: number;
  /** The UpdatedAt of the failure that opened the current alert. */
  openedFrom?: number;
  /**
   * The newest UpdatedAt of a pass that came after a later failure of the open alert (out of order): the finding
   * passed in between, so a responder's resolution that occurred before that holds nothing.
   */
  passedAt?: number;
  /**
   * The UpdatedAt of the open alert's imports after the failure that opened it: failing within the filter, or at a
   * severity below it (such a one comes only out of order, after a later failure), the newest few of each. Whether
   * the finding failed when a responder resolved is read from the last import before then (failingWhen).
   */
  failedAt?: number[];
  /** Also a person's RESOLVED in the console seen after a later failure, at when it was made (closedAtOf). */
  belowAt?: number[];
  /**
   * A responder resolved the alert's incident at this time, after the pass that closed the alert reached the stack
   * but before the stack's resolve reached PagerDuty: a failure imported before then is held by that resolution.
   */
  heldBefore?: number;
  /**
   * An alert opened for a failure after a pass closed the finding's last alert: the pass's UpdatedAt. A responder's
   * resolution of that alert's incident made after the pass and before this failure (`heldBefore`, delivered late)
   * holds the finding if it failed in between: a failure between the two, seen late, was what the responder resolved.
   */
  heldAfter?: number;
  /**
   * What the stack has heard of the finding, in the order it happened (history.ts): whether its alert should be open
   * is read from it whole, whatever order its events came in. Absent on a record written before it was kept.
   */
  history?: Fact[];
  /**
   * The record is unconfirmed because a change is owed (a webhook or a late fact found PagerDuty holding the other
   * status), not because an event is in flight: what PagerDuty holds meanwhile, and when it last took the stack's
   * event. A later fact that makes the change moot leaves the record as PagerDuty holds it, with nothing sent.
   */
  owed?: { pagerDuty: "open" | "resolved"; sentAt: number };
}

/** An incoming event of a finding, as the state sees it. */
export interface AlertEvent {
  dedupKey: string;
  action: "trigger" | "resolve";
  /** The finding's UpdatedAt (epoch ms), when valid. */
  updatedAt?: number;
  format: FindingFormat;
  fingerprint: string;
  /** A resolve that shows the finding itself is done (passed, archived, suppressed), not only a workflow change. */
  passed: boolean;
  /** A resolve of a finding that still fails, at a severity below the stack's filter. */
  below?: boolean;
  /** A resolve by the finding's workflow (SUPPRESSED, RESOLVED): a change that keeps the import's UpdatedAt. */
  workflow?: true;
  /** When the finding's last note was written (epoch ms): a workflow change made with a note is dated by it. */
  notedAt?: number;
  /** Paged by a person (a Security Hub custom action): whatever the rules or a responder decided. */
  manual: boolean;
  finding: FindingIdentity;
  /**
   * The finding shows it was triaged: a workflow past NEW or a note. A write-back that is still due is then
   * considered done (it landed, or a person wrote there since and is not overwritten).
   */
  triaged: boolean;
  /**
   * When a person wrote the note that is the finding's only sign of triage (its workflow still NEW), when known
   * (ASFF Note.UpdatedAt): Security Hub keeps a note when a finding fails again and sets the workflow back to NEW,
   * so a note from before the alert opened is not a triage of it.
   */
  triagedAt?: number;
  /** The route the finding takes now; absent: the default route. */
  route?: string;
  /** The finding's last note (ASFF Note, OCSF comment) is one the stack wrote: the event may be its echo. */
  stackNoted?: boolean;
  /** The group a trigger of the finding joins (alertPer: control); absent: a trigger opens an alert of its own. */
  group?: string;
  /**
   * The latest moment Security Hub's change in the event can have happened (epoch ms): a workflow change keeps
   * UpdatedAt, this bounds when it happened.
   */
  at?: number;
}

export interface DecisionOptions {
  now: number;
  /** A trigger re-sends an unchanged open alert after this long (0: never). */
  refreshMs: number;
  /** Resolves are sent for findings with no state (alerts opened before alert state existed). */
  resolveUntracked: boolean;
  /** Pages are written back to Security Hub. */
  writeBack: boolean;
}

/**
 * What Security Hub is told when nothing is sent but the finding's alert is open while Security Hub shows it closed
 * by the stack's own write (Workflow NOTIFIED and a note saying why):
 * - `pageAgain`: the finding passed at this time, which a responder's resolution no longer holds, and fails again
 *   since: the trigger is owed, and the echo of that write, which carries the failing finding, sends it;
 * - `earlierResolution`: the RESOLVED shown is the stack's record of a responder's resolution of an earlier incident.
 */
export type Notice = { pageAgain: number } | { earlierResolution: true };

/** Why nothing is sent. */
export type SkipKind = "unchanged" | "stale" | "nothingToResolve" | "alreadyResolved" | "heldByResponder";

/** What a sent event does to the alert. */
export type Change =
  | "new"
  | "regression"
  | "update"
  | "refresh"
  | "retry"
  | "resolve"
  | "untracked"
  /** The finding's route changed: its alert is resolved on the old route's service and opened on the new one's. */
  | "moved";

export type AlertDecision =
  | { kind: "send"; change: Change; why: string; next: AlertState }
  /** Another invocation is sending an event of this finding: decide again once it is done (by `until`). */
  | { kind: "wait"; why: string; until: number }
  | {
      kind: "skip";
      skip: SkipKind;
      why: string;
      record?: AlertState;
      /** The page's write-back to Security Hub did not land: try it again. */
      writeBackDue?: boolean;
      /**
       * The page's write-back did not land, and a person triaged the finding since (their workflow or note): it is
       * not written over theirs, and the skip says so.
       */
      leftToPerson?: true;
      notice?: Notice;
    };

const DAY_MS = 24 * 3600 * 1000;

function time(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Where the alert lives after the event. A trigger takes the finding's route now (onto an open alert of another
 * route, that is a move, decided below); a resolve goes where the alert is, and so does a trigger of an open alert
 * of the same route: it stays on the integration it opened on when the route's integrations change. A move not yet
 * confirmed (no sentAt) stays recorded, so that whichever event of the finding comes next resolves the old service
 * again.
 */
function routeOf(state: AlertState | undefined, event: AlertEvent): Pick<AlertState, "route" | "movingFrom"> {
  const stays =
    state !== undefined &&
    (event.action === "resolve" || (state.status === "open" && sameRoute(state.route, event.route)));
  return {
    route: stays ? state.route : event.route,
    movingFrom: state?.sentAt === undefined ? state?.movingFrom : undefined,
  };
}

/** Whether two integrations (as AlertState.route names them) are of one route. */
function sameRoute(one: string | undefined, other: string | undefined): boolean {
  return routeOfIntegration(one ?? DEFAULT_ROUTE).route === routeOfIntegration(other ?? DEFAULT_ROUTE).route;
}

/** A move between alerts not yet confirmed stays recorded, as a route's move does. */
function leavingOf(state: AlertState | undefined): Pick<AlertState, "leaving"> {
  return state?.sentAt === undefined && state?.leaving !== undefined ? { leaving: state.leaving } : {};
}

function nextOf(state: AlertState | undefined, event: AlertEvent, changes: Partial<AlertState>): AlertState {
  const next: AlertState = {
    dedupKey: event.dedupKey,
    status: event.action === "trigger" ? "open" : "resolved",
    updatedAt: Math.max(event.updatedAt ?? 0, state?.updatedAt ?? 0),
    fingerprints:
      event.action === "trigger"
        ? { ...state?.fingerprints, [event.format]: event.fingerprint }
        : (state?.fingerprints ?? {}),
    paged: (state?.paged ?? false) || event.action === "trigger",
    version: (state?.version ?? 0) + 1,
    finding: event.finding,
    ...(state?.incident === undefined ? {} : { incident: state.incident }),
    ...(state?.writeBack === undefined ? {} : { writeBack: state.writeBack }),
    ...(state?.openedAt === undefined ? {} : { openedAt: state.openedAt }),
    ...(state?.byHand === undefined ? {} : { byHand: state.byHand }),
    ...(state?.reopened === undefined ? {} : { reopened: state.reopened }),
    ...(state?.pastResolution === undefined ? {} : { pastResolution: state.pastResolution }),
    ...(state?.group === undefined ? {} : { group: state.group }),
    ...(state?.responderAt === undefined ? {} : { responderAt: state.responderAt }),
    ...(state?.stillFailing === undefined ? {} : { stillFailing: state.stillFailing }),
    ...(state?.openedFrom === undefined ? {} : { openedFrom: state.openedFrom }),
    ...(state?.passedAt === undefined ? {} : { passedAt: state.passedAt }),
    ...(state?.failedAt === undefined ? {} : { failedAt: state.failedAt }),
    ...(state?.belowAt === undefined ? {} : { belowAt: state.belowAt }),
    ...(state?.heldBefore === undefined ? {} : { heldBefore: state.heldBefore }),
    ...(state?.heldAfter === undefined ? {} : { heldAfter: state.heldAfter }),
    ...(state?.history === undefined ? {} : { history: state.history }),
    ...routeOf(state, event),
    ...leavingOf(state),
    ...changes,
  };
  if (next.route === undefined) delete next.route;
  if (next.movingFrom === undefined) delete next.movingFrom;
  if (next.status === "open" || (event.action === "resolve" && event.passed)) delete next.stillFailing;
  if (next.status === "open") delete next.closedBy;
  else {
    delete next.byHand;
    delete next.reopened;
    delete next.pastResolution;
    delete next.failedAt;
    delete next.belowAt;
    delete next.heldAfter;
  }
  // A resolved alert has nothing left to announce.
  if (next.status === "resolved") delete next.writeBack;
  return next;
}

/**
 * Pure: what to do with one incoming event of a finding, given what PagerDuty was last told of it. Four rules make
 * every case below:
 * - The record keeps the newest UpdatedAt of the finding ever seen, whether or not that event sent anything: an
 *   event is judged against everything known of the finding, never only against the last one sent.
 * - A record without sentAt says what PagerDuty should hold, not what it is known to hold: an event that does not
 *   supersede it sends the recorded status again (PagerDuty deduplicates a repeated trigger or resolve).
 * - One event of a finding is in flight at a time: what would be sent while another invocation's claim holds waits.
 * - A product's new information is a newer UpdatedAt. Security Hub keeps UpdatedAt through BatchUpdateFindings, so
 *   a workflow change (by a person, or the echo of this stack's own write-back) can close an alert, never reopen it.
 */
export function decide(
  state: AlertState | undefined,
  event: AlertEvent,
  options: DecisionOptions,
): AlertDecision {
  const record = withoutMootChange(state, event);
  const own = decideOnRecord(record, event, options);
  const decision = reconciled(record, event, options, own);
  const claim = state?.sentAt === undefined ? state?.claim : undefined;
  // A fact heard while another invocation's event is in flight waits too: the sender, if its event never went out,
  // puts back the record of before its claim, which a record written meanwhile would keep from it.
  const learns =
    decision.kind === "skip" &&
    decision.record !== undefined &&
    own.kind === "skip" &&
    own.record === undefined;
  if ((decision.kind === "send" || learns) && claim !== undefined && claim.until > options.now)
    return {
      kind: "wait",
      why: "another invocation is sending an event of this finding",
      until: claim.until,
    };
  return decision;
}

/** Sends the event: the record PagerDuty is to hold after it. */
function sendOf(
  state: AlertState | undefined,
  event: AlertEvent,
  options: DecisionOptions,
  change: Change,
  why: string,
  changes: Partial<AlertState> = {},
): Extract<AlertDecision, { kind: "send" }> {
  // A moved alert is a new alert on another service: its own incident, and its own note in Security Hub.
  const opens = change === "new" || change === "regression" || change === "moved";
  const next = nextOf(state, event, opens && options.writeBack ? { ...changes, writeBack: "due" } : changes);
  // A new alert belongs to a new incident, which its webhook will name, and shows this copy of the finding only.
  if (opens) {
    delete next.incident;
    next.fingerprints = { [event.format]: event.fingerprint };
    next.openedAt = options.now;
    delete next.byHand;
    delete next.reopened;
    if (state?.responderAt === undefined) delete next.pastResolution;
    else next.pastResolution = true;
    // An alert that opens is its group's, or its own: an open one stays what it was until it closes.
    if (event.group === undefined) delete next.group;
    else next.group = event.group;
    // A responder's action after the failure it opens for is about that failure (an older incident's, delivered
    // late: see the webhook's olderActsOnCurrent); one before it is of an older alert.
    if ((next.responderAt ?? 0) <= (event.updatedAt ?? Infinity)) delete next.responderAt;
    delete next.passedAt;
    delete next.failedAt;
    delete next.belowAt;
    // A failure after a pass: one between the pass and a responder's resolution (one that crossed the stack's
    // resolve of the pass, or one delivered after this alert opens), still on its way, would show the resolution
    // held the finding (heldAfter).
    // A close in Security Hub (a person's RESOLVED, a severity below the filter) counts as a pass does here: the
    // finding was not failing after it either, until a failure.
    const afterPass =
      state?.status === "resolved" &&
      state.closedBy === "finding" &&
      change === "regression" &&
      event.updatedAt !== undefined;
    if (afterPass) next.heldAfter = state.stillFailing || state.updatedAt;
    else delete next.heldAfter;
    if (!afterPass || state.heldBefore === undefined || (event.updatedAt ?? 0) < state.heldBefore)
      delete next.heldBefore;
    if (event.updatedAt === undefined) delete next.openedFrom;
    else next.openedFrom = event.updatedAt;
  } else if (state !== undefined && next.status === "open") Object.assign(next, importsWith(state, event));
  if (event.manual && next.status === "open") next.byHand = true;
  return { kind: "send", change, why, next };
}

function decideOnRecord(
  state: AlertState | undefined,
  event: AlertEvent,
  options: DecisionOptions,
): AlertDecision {
  const known = state?.updatedAt ?? 0;
  const older = event.updatedAt !== undefined && state !== undefined && event.updatedAt < known;
  const newer = event.updatedAt !== undefined && state !== undefined && event.updatedAt > known;
  const send = (change: Change, why: string, changes: Partial<AlertState> = {}): AlertDecision =>
    sendOf(state, event, options, change, why, changes);
  /** Nothing is sent; a newer UpdatedAt is still recorded (one write), so that older events stay stale. */
  const skip = (
    kind: SkipKind,
    why: string,
    record?: AlertState,
  ): Extract<AlertDecision, { kind: "skip" }> => {
    let seen =
      record ??
      (newer && state !== undefined
        ? { ...state, updatedAt: event.updatedAt ?? known, version: state.version + 1 }
        : undefined);
    const imported = state === undefined ? undefined : importsWith(state, event);
    if (state !== undefined && imported !== undefined && (seen ?? state).status === "open")
      seen = { ...(seen ?? { ...state, version: state.version + 1 }), ...imported };
    // The finding passed since its alert closed: a responder's resolution that crossed the close holds nothing.
    if (event.passed && !older && state?.stillFailing !== undefined) {
      const passed = { ...(seen ?? { ...state, version: state.version + 1 }) };
      delete passed.stillFailing;
      seen = passed;
    }
    return seen === undefined
      ? { kind: "skip", skip: kind, why }
      : { kind: "skip", skip: kind, why, record: seen };
  };

  if (event.action === "trigger") {
    if (state === undefined) return send("new", "no alert is open for this finding");
    if (state.status === "open") {
      // A failure between a pass and a responder's resolution that crossed the stack's resolve of it, seen after a
      // later failure opened this alert: the resolution found the finding failing, and holds it.
      if (
        older &&
        !event.manual &&
        state.byHand !== true &&
        state.heldBefore !== undefined &&
        state.heldAfter !== undefined &&
        event.updatedAt !== undefined &&
        event.updatedAt > state.heldAfter &&
        event.updatedAt < state.heldBefore
      ) {
        const held = send("resolve", "a responder resolved its alert after this failure was imported", {
          status: "resolved",
          closedBy: "responder",
          responderAt: state.heldBefore,
        });
        if (held.kind === "send") {
          delete held.next.heldBefore;
          delete held.next.heldAfter;
        }
        return held;
      }
      if (older && !event.manual) {
        const why = `older than the alert's last update (${time(state.updatedAt)})`;
        // A failure after the pass this alert followed, before the one that opened it: kept with the alert's imports,
        // so that a responder's resolution of the last alert, delivered late, is judged by it.
        const at = event.updatedAt ?? 0;
        const between =
          state.heldAfter !== undefined &&
          at > state.heldAfter &&
          at < (state.openedFrom ?? 0) &&
          state.failedAt?.includes(at) !== true;
        if (!between) return skip("stale", why);
        return skip("stale", why, {
          ...state,
          failedAt: keptWith(state.failedAt, at),
          version: state.version + 1,
        });
      }
      // Its group changed (a HIGH member turned CRITICAL with criticalAlone, a route change, alertPer changed):
      // the alert it had is left, and the one it belongs to now is opened or joined. A page by hand stays its own.
      const regrouped = !event.manual && state.byHand !== true && state.group !== event.group;
      const leaving = regrouped ? { leaving: state.group ?? state.dedupKey } : {};
      const from = state.route ?? DEFAULT_ROUTE;
      if (!sameRoute(state.route, event.route))
        return send("moved", `its route changed from ${from} to ${event.route ?? DEFAULT_ROUTE}`, {
          movingFrom: from,
          ...leaving,
        });
      // The alert it joins lives on the integration of its own key; the one it leaves, where it opened.
      if (regrouped)
        return send(
          "moved",
          `its alert is now ${event.group === undefined ? "its own" : `its group's (${event.group})`}`,
          {
            ...leaving,
            route: event.route,
            ...(state.route === event.route ? {} : { movingFrom: from }),
          },
        );
      if (state.sentAt === undefined) return send("retry", "the last event may not have reached PagerDuty");
      // A person asked: PagerDuty may hold the alert resolved (a webhook that never came), and a repeated trigger
      // of an open alert only updates it.
      if (event.manual) return send("update", "paged by hand");
      const shown = state.fingerprints[event.format];
      // The same finding's copy in the other feed, seen for the first time: its alert is the one already open.
      if (shown === undefined)
        return skip(
          "unchanged",
          "its alert is open already (from the other feed)",
          nextOf(state, event, { sentAt: state.sentAt }),
        );
      if (shown !== event.fingerprint) return send("update", "what the page shows changed");
      if (options.refreshMs > 0 && options.now - state.sentAt >= options.refreshMs) {
        const hours = Math.round(options.refreshMs / 3600_000);
        return send("refresh", `last sent ${time(state.sentAt)}, over ${hours} h ago`);
      }
      const why = `alert still open, last sent ${time(state.sentAt)}`;
      const triaged =
        event.triaged && (event.triagedAt === undefined || event.triagedAt >= (state.openedAt ?? 0));
      if (state.writeBack === "due" && triaged) {
        const done = {
          ...state,
          updatedAt: Math.max(known, event.updatedAt ?? 0),
          version: state.version + 1,
        };
        delete done.writeBack;
        // The echo of the stack's own write (its note last) shows it landed; anything else is a person's triage.
        const decision = skip("unchanged", why, done);
        return event.stackNoted === true ? decision : { ...decision, leftToPerson: true };
      }
      const decision = skip("unchanged", why);
      return state.writeBack === "due" ? { ...decision, writeBackDue: true } : decision;
    }
    if (event.manual) return send(state.paged ? "regression" : "new", "paged by hand");
    // A resolve owed (its send not confirmed) is sent again, also for a newer failure a responder's hold keeps off.
    if ((!newer || state.closedBy === "responder") && state.sentAt === undefined && state.paged)
      return {
        kind: "send",
        change: "retry",
        why: "the resolve recorded may not have reached PagerDuty",
        next: { ...state, version: state.version + 1 },
      };
    if (!newer && event.updatedAt !== undefined) {
      const why = older
        ? `a later update (${time(state.updatedAt)}) already resolved this finding`
        : "no newer than the update that resolved this finding (a workflow change reopens nothing)";
      // A failure a responder's hold keeps off, seen late, is kept with the hold's imports: a pass from before it,
      // seen later still, then came before a failure the responder resolved.
      const kept = state.closedBy === "responder" && older ? heldFailures(state, event) : undefined;
      return kept === undefined
        ? skip("stale", why)
        : skip("stale", why, { ...state, ...kept, version: state.version + 1 });
    }
    if (
      state.heldBefore !== undefined &&
      event.updatedAt !== undefined &&
      event.updatedAt < state.heldBefore
    ) {
      const held: AlertState = {
        ...state,
        updatedAt: event.updatedAt,
        closedBy: "responder",
        version: state.version + 1,
      };
      delete held.heldBefore;
      // A close in Security Hub it followed (a severity below the filter) is over: it failed within the filter when
      // the responder resolved, and a reopening opens it again.
      delete held.stillFailing;
      return skip("heldByResponder", "a responder resolved its alert after this failure was imported", held);
    }
    if (state.closedBy === "responder") {
      const why = "a responder resolved its alert; it pages again when the finding fails after passing";
      if (!newer) return skip("heldByResponder", why);
      // It fails within the filter again: a close in Security Hub since the resolution is over. The failure is kept
      // with the hold's imports: a close before the resolution, seen late, then knows the finding fails since.
      const failing: AlertState = {
        ...state,
        updatedAt: event.updatedAt ?? known,
        ...heldFailures(state, event),
        version: state.version + 1,
      };
      delete failing.stillFailing;
      return skip("heldByResponder", why, failing);
    }
    return state.paged
      ? send("regression", "the finding fails again after its alert was resolved")
      : send("new", "no alert is open for this finding");
  }

  // A resolve.
  if (state === undefined) {
    // Claimed as an alert that paged, so that a hand-back of this resolve is retried until it lands.
    if (options.resolveUntracked)
      return send("untracked", "no alert state: it may have paged before alert state existed", {
        paged: true,
      });
    // Remembered, so that a trigger of this finding still waiting in another lane is not sent after it.
    const marker = nextOf(undefined, event, { paged: false, sentAt: options.now, closedBy: "finding" });
    return skip("nothingToResolve", "it never paged", marker);
  }
  if (state.status === "open") {
    if (older) {
      const why = `older than the alert's last update (${time(state.updatedAt)})`;
      // Only a close after the failure that opened the alert says the finding stopped failing while it was open (a
      // severity below the filter is kept with the alert's imports, by skip). A pass ends a responder's hold; a
      // person's RESOLVED does not, but a resolution after it found the finding closed.
      const closedAt = closedAtOf(state, event) ?? 0;
      if (closedAt <= (state.openedFrom ?? 0)) return skip("stale", why);
      if (event.passed && closedAt > (state.passedAt ?? 0))
        return skip("stale", why, { ...state, passedAt: closedAt, version: state.version + 1 });
      const belowAt = state.belowAt ?? [];
      if (!event.passed && event.below !== true && event.stackNoted !== true && !belowAt.includes(closedAt))
        return skip("stale", why, {
          ...state,
          belowAt: keptWith(belowAt, closedAt),
          version: state.version + 1,
        });
      return skip("stale", why);
    }
    // Security Hub's echo of a note the stack wrote while the workflow was RESOLVED (or of the responder's
    // resolution itself, whose write can land after the reopen's NOTIFIED) shows the workflow of before the reopen.
    // A person's change in the console writes a note of its own: one with no note passes for an echo here, and the
    // alert stays open until it is resolved in PagerDuty or the finding passes.
    if (state.reopened === true && event.stackNoted === true) {
      if (!newer)
        return skip("stale", "the echo of a write-back of the stack's: a responder reopened the alert since");
      // A newer import of the still-failing finding that shows the stack's own RESOLVED (Security Hub keeps the
      // workflow the stack wrote) while the trigger is owed since a pass ended the responder's hold: the NOTIFIED
      // that asks for it has not landed (it failed, or this import was taken before it; its write-back is still
      // due, which the echo of a landed one clears). It is asked again.
      if (
        !event.passed &&
        event.below !== true &&
        state.sentAt === undefined &&
        state.writeBack === "due" &&
        state.passedAt !== undefined
      )
        return {
          ...skip("stale", "the stack's own RESOLVED, shown while the trigger is owed again", {
            ...state,
            updatedAt: event.updatedAt ?? state.updatedAt,
            version: state.version + 1,
          }),
          notice: { pageAgain: state.passedAt },
        };
    }
    // An alert opened after a responder's resolution of an earlier one: a RESOLVED shown with the stack's own note is
    // taken for the RESOLVED of that resolution, written late (Security Hub throttled it) after the finding failed
    // again; a note the stack wrote after it keeps it shown, also in later imports. It closes nothing, and Security
    // Hub is set back to NOTIFIED with a note saying why. A person who sets RESOLVED in the console with no note of
    // their own cannot be told from it: that note asks them to write one, or to resolve in PagerDuty.
    if (state.pastResolution === true && event.stackNoted === true && !event.passed && event.below !== true)
      return {
        ...skip(
          "stale",
          "the stack's RESOLVED of a responder's resolution of an earlier incident, landed late",
        ),
        notice: { earlierResolution: true },
      };
    if (event.below === true) {
      // A severity change is the product's news: the echo of a write-back (same UpdatedAt) is none.
      if (!newer) return skip("stale", "no newer than the alert's last update (its severity did not change)");
      if (state.byHand === true)
        return skip("unchanged", "paged by a person: it stays open until the finding passes or is resolved");
    }
    // A severity below the filter is the product's change, made at its UpdatedAt; a workflow change keeps
    // UpdatedAt, and only the event's time bounds it.
    const closedAt = event.below === true ? event.updatedAt : event.at;
    return send("resolve", "the alert is open", {
      closedBy: "finding",
      ...(event.passed ? {} : { stillFailing: closedAt ?? 0 }),
    });
  }
  // A pass seen only after a newer failure of a responder-held alert, imported after the failure that opened it:
  // after the resolution, the pass ended the hold; before it (or a severity below the filter before it), the
  // finding was not failing when the responder resolved (as with passedAt, no failure between the two is known),
  // and the resolution holds nothing. Either way PagerDuty is to hold the alert open (a resolve owed is no longer),
  // unless a person has closed the finding in Security Hub since the resolution (stillFailing).
  const closedAt = older ? closedAtOf(state, event) : undefined;
  if (
    state.closedBy === "responder" &&
    state.stillFailing === undefined &&
    closedAt !== undefined &&
    state.responderAt !== undefined &&
    closedAt > (state.openedFrom ?? 0) &&
    state.updatedAt > state.responderAt &&
    (event.passed
      ? closedAt >= state.responderAt || !failedBetween(state, closedAt, state.responderAt)
      : (event.below === true || event.stackNoted !== true) &&
        closedAt < state.responderAt &&
        failsOnlyAfter(state, closedAt, state.responderAt))
  ) {
    // Open again, as after a responder's reopening: Security Hub's echo of the resolution's RESOLVED, still on its
    // way, does not close it.
    // A close before the resolution held nothing only if the finding did not fail in between: a failure between
    // the two, still on its way, closes the alert again as held (heldAfter, heldBefore).
    const before = closedAt < state.responderAt;
    const owed: AlertState = {
      ...state,
      status: "open",
      reopened: true,
      passedAt: closedAt,
      version: state.version + 1,
      ...(options.writeBack ? { writeBack: "due" as const } : {}),
      ...(before ? { heldAfter: closedAt, heldBefore: state.responderAt } : {}),
    };
    delete owed.closedBy;
    delete owed.sentAt;
    return {
      ...skip("stale", "it passed while a responder's resolution held it, and fails again since", owed),
      notice: { pageAgain: closedAt },
    };
  }
  const changedAt = event.below === true ? event.updatedAt : event.at;
  // A close in Security Hub after the responder's resolution (a person's own, not the echo of the stack's RESOLVED):
  // the hold stays, and a pass seen late, which would end it, or a responder's reopening, opens nothing that Security
  // Hub shows closed or below the filter.
  const closedSince =
    state.closedBy === "responder" &&
    !event.passed &&
    !older &&
    (event.below === true || event.stackNoted !== true) &&
    changedAt !== undefined &&
    state.responderAt !== undefined &&
    changedAt > state.responderAt &&
    state.stillFailing === undefined;
  // A pass older than what is known says nothing of now: a responder's hold stays. A close since the resolution is
  // remembered with the resolve owed, as without one.
  if (state.sentAt === undefined && state.paged)
    return send(
      "retry",
      "the last event may not have reached PagerDuty",
      event.passed && !older
        ? passClose(state, event)
        : { closedBy: state.closedBy ?? "finding", ...(closedSince ? { stillFailing: changedAt } : {}) },
    );
  // A workflow change in the console (a RESOLVED), or a severity below the filter (at its UpdatedAt), that happened
  // before the responder's resolution, with no failing import after it: Security Hub did not show the finding
  // failing when the responder resolved, so that resolution holds nothing, and the finding's next failure pages. A
  // failure imported between the close and the resolution, still on its way, was what the responder resolved: it is
  // held (heldBefore).
  if (
    state.closedBy === "responder" &&
    !event.passed &&
    changedAt !== undefined &&
    state.responderAt !== undefined &&
    changedAt <= state.responderAt &&
    state.updatedAt < changedAt
  ) {
    const unheld = nextOf(state, event, { sentAt: state.sentAt ?? options.now, closedBy: "finding" });
    return skip("alreadyResolved", "closed in Security Hub before a responder resolved it", {
      ...unheld,
      stillFailing: changedAt,
      heldBefore: state.responderAt,
    });
  }
  // A close since the resolution is remembered with the hold; its UpdatedAt too: the import it carries, when its own
  // event comes later, shows the finding as it was before that close.
  if (closedSince)
    return skip("alreadyResolved", "a responder resolved its alert, and the finding was closed since", {
      ...state,
      updatedAt: event.updatedAt ?? known,
      stillFailing: changedAt,
      version: state.version + 1,
    });
  if (state.closedBy === "responder" && event.passed && !older) {
    const passed = nextOf(state, event, { sentAt: state.sentAt ?? options.now, ...passClose(state, event) });
    return skip(
      "alreadyResolved",
      "a responder resolved its alert and the finding now passes: a later failure pages",
      passed,
    );
  }
  if (!state.paged) return skip("nothingToResolve", "it never paged");
  // A RESOLVED shown with the stack's own note, on an import newer than the state knows, after a pass closed the
  // alert: the stack's write of a responder's resolution landed on a failure still on its way (Security Hub set a
  // failure after that pass back to NEW, so only the write's echo shows it RESOLVED). It is not that failure's state:
  // recording its UpdatedAt would make the failure's own import stale. While the responder's hold stands (no pass
  // seen), it is more likely a scan's re-import, which keeps the workflow the stack wrote: its own event, to be
  // recorded, so that a pass from before it is seen as older (a failure the hold keeps off is held either way). With
  // no responder's resolution, the stack wrote no RESOLVED: it is a person's, with no note of their own.
  if (
    event.stackNoted === true &&
    !event.passed &&
    event.below !== true &&
    newer &&
    state.closedBy !== "responder" &&
    state.responderAt !== undefined
  )
    return {
      kind: "skip",
      skip: "alreadyResolved",
      why: "the stack's own RESOLVED on an import not seen yet",
    };
  // A person's RESOLVED on an import newer than the one that closed the alert: that import fails within the filter
  // (its workflow aside), so a responder's resolution before the person's close resolved a failing finding, and
  // holds it.
  if (
    !event.passed &&
    event.below !== true &&
    newer &&
    changedAt !== undefined &&
    state.closedBy === "finding"
  )
    return skip("alreadyResolved", "its alert is resolved already, and a person closed the finding since", {
      ...state,
      updatedAt: event.updatedAt ?? known,
      stillFailing: changedAt,
      version: state.version + 1,
    });
  return skip(
    "alreadyResolved",
    state.closedBy === "responder"
      ? "a responder resolved its alert in PagerDuty"
      : "its alert is resolved already",
  );
}

/** What ends the stack's RESOLVED in Security Hub: a pass, a person's change, a reopening. */
const ENDS_WRITTEN: readonly FactKind[] = ["passed", "suppressed", "closed", "reopened"];

/**
 * What the event says Security Hub showed of the finding, and when. What its product says (a failure, a pass, an
 * archive, a severity below the filter) is a fact of its import, at its UpdatedAt. A workflow change keeps UpdatedAt:
 * a person's, made with a note, is dated by the note; one kept by a re-import, by that import. The echo of a write of
 * the stack's (its note written after the import, or on an import already known: OCSF comments carry no time) shows
 * a workflow changed at some time before: its own event dates that change. The stack's own workflow is no change of
 * the finding: under its NOTIFIED, and under its RESOLVED of a responder's resolution, which a re-import keeps, the
 * import fails by its product (inferred: the import's own event, when it comes, says what it was).
 */
export function factOfEvent(event: AlertEvent, history: History = []): Fact | undefined {
  const at = event.updatedAt;
  if (at === undefined || event.manual) return undefined;
  const format = event.format;
  if (event.below === true) return { at, kind: "below", format };
  const byWorkflow = event.action === "resolve" && (event.workflow === true || !event.passed);
  if (event.action === "resolve" && !byWorkflow) return { at, kind: "passed", format };
  const notedAt = event.notedAt !== undefined && event.notedAt >= at ? event.notedAt : undefined;
  const echo =
    event.stackNoted === true &&
    (notedAt !== undefined ||
      (event.notedAt === undefined && history.some((fact) => fact.at === at && fact.format === format)));
  // The stack writes RESOLVED for a responder's resolution (resolvedWritten). Under its note, a RESOLVED is the
  // stack's unless a person had closed the finding when it was written, or the finding was closed or passed since
  // (Security Hub sets a failure after a pass back to NEW, and a person's close is theirs).
  const written = history.filter((fact) => fact.kind === "resolvedWritten").at(-1);
  const stackResolved =
    event.stackNoted === true &&
    event.action === "resolve" &&
    !event.passed &&
    written !== undefined &&
    !BY_PERSON.includes(lastBefore(history, written.at)?.kind ?? "failing") &&
    !history.some((fact) => ENDS_WRITTEN.includes(fact.kind) && fact.at > written.at);
  if (stackResolved || (echo && event.action === "trigger"))
    return { at, kind: "failing", format, inferred: true };
  if (event.action === "trigger") return { at, kind: "failing", format };
  if (echo) return undefined;
  return { at: notedAt ?? at, kind: event.passed ? "suppressed" : "closed", format };
}

/**
 * The record as PagerDuty holds it, when the change it owes (owed) is moot once this event's fact is heard: the alert
 * is to be as PagerDuty holds it after all, and nothing is to be sent for it.
 */
function withoutMootChange(state: AlertState | undefined, event: AlertEvent): AlertState | undefined {
  if (state?.owed === undefined || state.sentAt !== undefined || state.history === undefined) return state;
  const history = withFact(state.history, factOfEvent(event, state.history));
  const open = openOf(history);
  if ((state.owed.pagerDuty === "open") !== open) return state;
  const { owed, ...rest } = state;
  const restored: AlertState = { ...rest, status: owed.pagerDuty, sentAt: owed.sentAt };
  if (open) delete restored.closedBy;
  else restored.closedBy = heldOf(history) ? "responder" : "finding";
  return restored;
}

/** A resolved record says who closed it: a responder's resolution that holds the finding, or the finding. */
function closedByOf(record: AlertState, held: boolean): AlertState {
  if (record.status !== "resolved") return record;
  return { ...record, closedBy: held ? "responder" : "finding" };
}

/**
 * The decision, checked against the finding's whole history: PagerDuty's alert is to be open exactly when the
 * finding fails within the filter and no responder's resolution holds it (openOf), whichever order the events came
 * in. Where the decision's own reading of this one event says otherwise, the history wins: the alert is resolved, or
 * its trigger sent (by the event that carries the failure, else by Security Hub's echo of the note the notice asks
 * for). A page by hand, a group's member and an alert moving between services are left to the decision.
 */
function reconciled(
  state: AlertState | undefined,
  event: AlertEvent,
  options: DecisionOptions,
  decision: AlertDecision,
): AlertDecision {
  // A record written before histories were kept is left to the decision: a history begun now would lack its past.
  if (decision.kind === "wait" || (state !== undefined && state.history === undefined)) return decision;
  const before = state?.history ?? [];
  const fact = factOfEvent(event, before);
  const history = withFact(before, fact);
  const record = decision.kind === "send" ? decision.next : (decision.record ?? state);
  if (record === undefined) return decision;
  const held = heldOf(history);
  const open = openOf(history);
  const asIs =
    event.manual ||
    event.group !== undefined ||
    record.group !== undefined ||
    record.byHand === true ||
    record.leaving !== undefined ||
    record.movingFrom !== undefined ||
    (decision.kind === "send" && decision.change === "moved");
  if (asIs || (record.status === "open") === open) {
    const kept = closedByOf({ ...record, history }, held);
    if (decision.kind === "send") return { ...decision, next: kept };
    if (decision.record !== undefined) return { ...decision, record: kept };
    if (state === undefined || sameHistory(history, before)) return decision;
    return { ...decision, record: { ...kept, version: state.version + 1 } };
  }
  const updatedAt = Math.max(state?.updatedAt ?? 0, event.updatedAt ?? 0);
  if (!open) {
    const why = held
      ? "a responder resolved it while it failed, and it has not passed since"
      : "it does not fail within the filter now";
    // PagerDuty holds the alert resolved, and the stack knows it: nothing is sent.
    if (state !== undefined && state.status === "resolved" && state.sentAt !== undefined)
      return {
        kind: "skip",
        skip: held ? "heldByResponder" : "alreadyResolved",
        why,
        record: closedByOf({ ...state, updatedAt, history, version: state.version + 1 }, held),
      };
    const resolve = sendOf(state, { ...event, action: "resolve" }, options, "resolve", why, {
      closedBy: held ? "responder" : "finding",
      history,
    });
    return resolve;
  }
  const why = "it fails within the filter, and no responder's resolution holds it";
  // PagerDuty holds the alert open, and the stack knows it: nothing is sent.
  if (state !== undefined && state.status === "open" && state.sentAt !== undefined)
    return {
      kind: "skip",
      skip: "stale",
      why,
      record: { ...state, updatedAt, history, version: state.version + 1 },
    };
  const newest = history
    .filter(
      (known) => known.format === event.format && known.kind !== "resolved" && known.kind !== "reopened",
    )
    .at(-1);
  // The event shows the finding as it is now: its trigger is the page.
  const carries = event.action === "trigger" && newest?.kind === "failing" && newest.at === event.updatedAt;
  if (carries)
    return state?.status === "open"
      ? sendOf(state, event, options, "retry", "the last event may not have reached PagerDuty", { history })
      : sendOf(state, event, options, state?.paged === true ? "regression" : "new", why, { history });
  // The failure's own event is not this one: the trigger is owed, and Security Hub's echo of the note asked for
  // (NOTIFIED on the finding as it now is) sends it.
  if (state === undefined) return decision;
  const owed: AlertState = {
    ...state,
    status: "open",
    updatedAt,
    history,
    version: state.version + 1,
    ...(options.writeBack ? { writeBack: "due" as const } : {}),
  };
  delete owed.closedBy;
  delete owed.sentAt;
  if (state.sentAt !== undefined) owed.owed = { pagerDuty: state.status, sentAt: state.sentAt };
  const closedAt = history.filter((known) => known.kind !== "failing").at(-1)?.at ?? updatedAt;
  return {
    kind: "skip",
    skip: "stale",
    why: `${why}: its trigger is owed`,
    record: owed,
    notice: { pageAgain: closedAt },
  };
}

/** How many of an open alert's imports of each kind are kept (AlertState.failedAt, belowAt): the newest. */
const IMPORTS_KEPT = 8;

/** Import times with one more, in order, the newest IMPORTS_KEPT. */
function keptWith(times: readonly number[] | undefined, at: number): number[] {
  return [...(times ?? []), at].sort((a, b) => a - b).slice(-IMPORTS_KEPT);
}

/** The open alert's imports with this event's, when it is a product's import after the failure that opened it. */
function importsWith(
  state: AlertState,
  event: AlertEvent,
): Pick<AlertState, "failedAt" | "belowAt"> | undefined {
  const at = event.updatedAt;
  if (state.status !== "open" || at === undefined || at <= (state.openedFrom ?? 0)) return undefined;
  const key =
    event.action === "trigger" && !event.manual ? "failedAt" : event.below === true ? "belowAt" : undefined;
  if (key === undefined || state[key]?.includes(at) === true) return undefined;
  return { [key]: keptWith(state[key], at) };
}

/**
 * When an event older than the record says its finding stopped failing: a product's pass or severity below the filter
 * at its import's UpdatedAt. Security Hub keeps UpdatedAt through a workflow change: a workflow RESOLVED (never a
 * product's import), or a SUPPRESSED on a failure the record knows (the one that opened the alert, or one kept since),
 * is a change in the console, made at the event's time and before the record's next import (a change made later would
 * carry that import's UpdatedAt). A RESOLVED on an import the record does not know (its own event still on its way)
 * was made after that import too, not at it: a responder's resolution in between resolved a failing finding.
 */
function closedAtOf(state: AlertState, event: AlertEvent): number | undefined {
  const updatedAt = event.updatedAt;
  if (updatedAt === undefined) return undefined;
  const failures = [state.openedFrom ?? state.updatedAt, ...(state.failedAt ?? [])];
  if (event.below === true || event.at === undefined) return updatedAt;
  if (event.passed && !failures.includes(updatedAt)) return updatedAt;
  const imports = [
    ...(state.openedFrom === undefined ? [] : [state.openedFrom]),
    state.updatedAt,
    ...(state.failedAt ?? []),
    ...(state.belowAt ?? []),
  ];
  const later = imports.filter((time) => time > updatedAt);
  return Math.max(updatedAt, Math.min(event.at, Math.min(...later) - 1));
}

/**
 * A failure within the filter imported while a responder's resolution holds the alert, kept with the alert's imports
 * (failedAt), as an open alert keeps them.
 */
function heldFailures(state: AlertState, event: AlertEvent): Pick<AlertState, "failedAt"> | undefined {
  const at = event.updatedAt;
  if (
    at === undefined ||
    event.manual ||
    at <= (state.openedFrom ?? 0) ||
    state.failedAt?.includes(at) === true
  )
    return undefined;
  return { failedAt: keptWith(state.failedAt, at) };
}

/** Whether the record knows a failure within the filter imported after `from` and before `until`. */
function failedBetween(state: AlertState, from: number, until: number): boolean {
  return (state.failedAt ?? []).some((time) => time > from && time < until);
}

/**
 * Whether the record knows a failure within the filter imported after a close at `closedAt`, and none before a
 * responder's resolution at `resolvedAt`: the close was what Security Hub showed when the responder resolved, and the
 * finding fails since. A failure in between was what the responder resolved (the resolution holds it), and a newer
 * UpdatedAt alone is no failure: Security Hub keeps a workflow RESOLVED through a re-import that still fails, so a
 * newer import may show the RESOLVED the stack wrote for the responder's resolution. (After a pass it does not: a
 * failure sets the workflow back to NEW, and a newer import is one, whatever the stack's write shows of it.)
 */
function failsOnlyAfter(state: AlertState, closedAt: number, resolvedAt: number): boolean {
  return (
    (state.failedAt ?? []).some((time) => time >= resolvedAt) && !failedBetween(state, closedAt, resolvedAt)
  );
}

/**
 * Whether an open alert's finding failed within the filter at `at`, by its last import before then that the alert
 * state knows (the failure that opened the alert, or one kept since; a severity below the filter, a console close,
 * the newest pass seen out of order). Imports it has not seen yet are not known.
 */
export function failingWhen(state: AlertState, at: number): boolean {
  const last = (times: readonly number[]) => Math.max(-Infinity, ...times.filter((time) => time < at));
  // The newest UpdatedAt an open alert knows is a failing import's (a pass or a severity below the filter in order
  // would have closed it).
  const failed = last([state.openedFrom ?? state.updatedAt, state.updatedAt, ...(state.failedAt ?? [])]);
  const passed = state.passedAt === undefined ? [] : [state.passedAt];
  // A close at a failure's UpdatedAt is a change in the console on that import (a SUPPRESSED seen before the
  // import's own event is dated by it): it came after the failure.
  const closed = last([...(state.belowAt ?? []), ...passed]);
  return closed === -Infinity || closed < failed;
}

/**
 * A pass that closes the alert. One from before a responder's resolution (delivered late) says nothing of the imports
 * between the two: a failure among them, still on its way, was what the responder resolved, and is held by it.
 */
function passClose(state: AlertState, event: AlertEvent): Pick<AlertState, "closedBy" | "heldBefore"> {
  const before =
    state.closedBy === "responder" &&
    state.responderAt !== undefined &&
    event.updatedAt !== undefined &&
    event.updatedAt < state.responderAt;
  return before ? { closedBy: "finding", heldBefore: state.responderAt } : { closedBy: "finding" };
}

/** EventBridge gives an event's `time` in whole seconds: within one, which came first is not known. */
export const EVENT_TIME_RESOLUTION_MS = 1_000;

/** How long a resolved item is kept: longer than a record can wait in its queue (four days). */
export const RESOLVED_MEMORY_MS = 7 * DAY_MS;
/** A responder's resolution holds off re-pages for a still-failing finding this long (Security Hub keeps findings 90 days). */
export const RESPONDER_HOLD_MS = 90 * DAY_MS;

/**
 * When a finding's or a group's record may be forgotten (epoch seconds, for the table's TTL); open alerts never
 * are, and a responder's resolution is kept as long as it holds re-pages off.
 */
export function expiryOf(state: Pick<AlertState, "status" | "closedBy">, now: number): number | undefined {
  if (state.status === "open") return undefined;
  return Math.floor((now + (state.closedBy === "responder" ? RESPONDER_HOLD_MS : RESOLVED_MEMORY_MS)) / 1000);
}
