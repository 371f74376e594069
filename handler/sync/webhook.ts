import { createHmac, timingSafeEqual } from "crypto";
import { isObject, parseJson, textAt, valueAt } from "../finding/json";
import { failingWhen, type AlertState } from "../state/alerts";
import { heldOf, openOf, sameHistory, withFact, type Fact } from "../state/history";
import { failingOf, resolvedByResponder, type GroupState } from "../state/groups";
import {
  groupNote,
  acknowledgedNote,
  heldNothingNote,
  annotatedNote,
  reopenedNote,
  resolvedNote,
  triggeredNote,
  type Incident,
} from "./notes";

// PagerDuty's v3 webhooks, pure: the signature check, the reading of an event, and what an event means for the
// finding behind the incident. The endpoint around it does the I/O.

/** The events the stack subscribes to. */
export const WEBHOOK_EVENT_TYPES = [
  "incident.triggered",
  "incident.acknowledged",
  "incident.resolved",
  "incident.reopened",
  "incident.annotated",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** PagerDuty guarantees delivery up to 55 KB; anything much larger is not a webhook of this subscription. */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * Older events are not applied. PagerDuty may retry a delivery for up to 48 hours, and the ledger remembers every
 * event longer than this, so a replay of a captured request is a duplicate until it is too old to apply.
 */
export const MAX_EVENT_AGE_MS = 72 * 3600 * 1000;

/**
 * Whether one of the v1 signatures in the header is the HMAC-SHA256 of the raw body with the secret. Several are
 * sent while PagerDuty rotates a secret; they are compared in constant time.
 */
export function signatureMatches(body: Buffer, header: string | undefined, secret: string): boolean {
  if (header === undefined || secret === "") return false;
  const expected = Buffer.from(createHmac("sha256", secret).update(body).digest("hex"));
  return header
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.startsWith("v1="))
    .some((part) => {
      const given = Buffer.from(part.slice(3));
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  occurredAt: number;
  /** Who did it: a person (a PagerDuty user) or something else (an integration, the service). */
  agent: { person: boolean; name: string };
  incident: Incident & { id: string; serviceId?: string; incidentKey?: string };
  /** The text of a note (incident.annotated). */
  content?: string;
}

export type WebhookReading =
  | { kind: "event"; event: WebhookEvent }
  /** Well-formed, but not an event this endpoint acts on. */
  | { kind: "ignored"; reason: string }
  | { kind: "invalid"; reason: string };

export function readWebhook(body: string): WebhookReading {
  const parsed = parseJson(body);
  if (!parsed.ok) return { kind: "invalid", reason: `body is not JSON: ${parsed.reason}` };
  const event = valueAt(parsed.value, "event");
  if (!isObject(event)) return { kind: "invalid", reason: "body has no event object" };
  const id = textAt(event, "id");
  const type = textAt(event, "event_type");
  const occurredAt = Date.parse(textAt(event, "occurred_at") ?? "");
  if (id === undefined || type === undefined || Number.isNaN(occurredAt))
    return { kind: "invalid", reason: "event lacks id, event_type or a valid occurred_at" };
  if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type))
    return { kind: "ignored", reason: `event type ${type} is not one this endpoint acts on` };
  const data = event.data;
  // Incident events carry the incident; a note (incident.annotated) carries a reference to it.
  const incident = type === "incident.annotated" ? valueAt(data, "incident") : data;
  const incidentId = textAt(incident, "id");
  if (!isObject(data) || incidentId === undefined)
    return { kind: "invalid", reason: `${type} event has no incident` };
  const number = valueAt(incident, "number");
  const reading: WebhookEvent = {
    id,
    type: type as WebhookEventType,
    occurredAt,
    agent: {
      person: textAt(event, "agent", "type") === "user_reference",
      name: textAt(event, "agent", "summary") ?? "PagerDuty",
    },
    incident: { id: incidentId },
  };
  const optional = {
    number: typeof number === "number" ? number : undefined,
    url: textAt(incident, "html_url"),
    serviceId: textAt(incident, "service", "id"),
    incidentKey: textAt(incident, "incident_key"),
  };
  for (const [key, value] of Object.entries(optional))
    if (value !== undefined) (reading.incident as unknown as Record<string, unknown>)[key] = value;
  const content = textAt(data, "content");
  if (content !== undefined) reading.content = content;
  return { kind: "event", event: reading };
}

export type WebhookEffect =
  /** Security Hub is not told; `next`: the alert state still learns of the event (a responder's action). */
  | { kind: "ignore"; reason: string; next?: AlertState }
  | {
      kind: "apply";
      /** What Security Hub is told. */
      note: string;
      workflow?: "NOTIFIED" | "RESOLVED";
      /** The alert state after the event, when the event changes it. */
      next?: AlertState;
    };

/**
 * The record (a finding's alert state or a group's) with the event's incident in it. A note's event names only the
 * incident: its number and link come from what an earlier event recorded.
 */
function withIncidentOf<
  T extends { incident?: { id: string; number?: number; url?: string }; version: number },
>(state: T, event: WebhookEvent, known: boolean): { incident: WebhookEvent["incident"]; next: T } {
  const incident = { ...(known ? state.incident : {}), ...event.incident };
  const next: T = {
    ...state,
    incident: {
      id: incident.id,
      ...(incident.number === undefined ? {} : { number: incident.number }),
      ...(incident.url === undefined ? {} : { url: incident.url }),
    },
    version: state.version + 1,
  };
  return { incident, next };
}

/** A responder's action, as a fact of the finding's history. */
function responderFact(event: WebhookEvent): Fact | undefined {
  if (event.type === "incident.resolved" && event.agent.person)
    return { at: event.occurredAt, kind: "resolved" };
  if (event.type === "incident.reopened") return { at: event.occurredAt, kind: "reopened" };
  return undefined;
}

/**
 * What an event of the incident means for its finding, given the finding's alert state. A responder's action, of
 * any incident of the finding's and delivered in any order, joins the finding's history, and the alert is to be open
 * exactly when that history says so (openOf): where the event's own reading says otherwise, the trigger or resolve
 * is owed (the record unconfirmed), and the finding's next event (Security Hub's echo of the note) sends it.
 */
export function effectOf(event: WebhookEvent, state: AlertState): WebhookEffect {
  const effect = effectByCase(event, state);
  const before = state.history;
  // A record written before histories were kept is left to the event's own reading.
  if (before === undefined || state.group !== undefined || state.byHand === true) return effect;
  const history = withFact(before, responderFact(event));
  if (sameHistory(history, before)) return effect;
  const held = heldOf(history);
  const open = openOf(history);
  // What PagerDuty holds after the action: a resolution resolved the alert, a reopening opened it, unless the stack's
  // own event, accepted after the action, changed it since (in the same millisecond: confirmed after it, the stack's
  // event is taken to have come after). Unconfirmed with nothing owed, an event may be in flight,
  // and what PagerDuty holds is not known: what is recorded is sent again either way.
  const known =
    state.sentAt !== undefined
      ? { status: state.status, sentAt: state.sentAt }
      : state.owed === undefined
        ? undefined
        : { status: state.owed.pagerDuty, sentAt: state.owed.sentAt };
  // A later action of a responder's, applied already, set what PagerDuty holds since.
  const after =
    known !== undefined &&
    (known.sentAt >= event.occurredAt ||
      before.some(
        (fact) => (fact.kind === "resolved" || fact.kind === "reopened") && fact.at > event.occurredAt,
      ));
  const pagerDutyOpen =
    event.type === "incident.resolved"
      ? known?.status === "open" && after
      : !(known?.status === "resolved" && after);
  const owed = known === undefined || pagerDutyOpen !== open;
  const next: AlertState = { ...(effect.next ?? { ...state, version: state.version + 1 }), history };
  delete next.owed;
  if (!owed) next.sentAt = known.sentAt;
  else {
    delete next.sentAt;
    // Owed, not in flight: PagerDuty holds what the action left it, as a later fact may show was right after all.
    if (known !== undefined)
      next.owed = { pagerDuty: pagerDutyOpen ? "open" : "resolved", sentAt: known.sentAt };
  }
  if (open) {
    next.status = "open";
    delete next.closedBy;
    if (owed) next.writeBack = "due";
  } else {
    next.status = "resolved";
    next.closedBy = held ? "responder" : "finding";
    delete next.writeBack;
    delete next.reopened;
  }
  const workflow = open
    ? effect.kind === "apply" && effect.workflow === "NOTIFIED"
      ? ("NOTIFIED" as const)
      : undefined
    : held
      ? ("RESOLVED" as const)
      : undefined;
  // Security Hub is told when something is owed: its echo of the note is the finding's next event, which sends it.
  if (effect.kind === "ignore" && !owed) return { ...effect, next };
  const note =
    effect.kind === "apply"
      ? effect.note
      : event.type === "incident.reopened"
        ? reopenedNote(event.agent.name, event.incident)
        : resolvedNote(event.agent.name, event.incident);
  // Security Hub will show the stack's RESOLVED, which a re-import keeps: it is remembered as the stack's.
  if (workflow === "RESOLVED")
    next.history = withFact(history, { at: event.occurredAt, kind: "resolvedWritten" });
  return { kind: "apply", note, ...(workflow === undefined ? {} : { workflow }), next };
}

function effectByCase(event: WebhookEvent, state: AlertState): WebhookEffect {
  const { agent } = event;
  const known = state.incident?.id === event.incident.id;
  const personResolved = event.type === "incident.resolved" && agent.person;
  // A responder acted on an older incident of the finding after the failure that opened the current alert was
  // imported, and after any responder's action applied since: the action is about that failure.
  const olderActsOnCurrent =
    !known &&
    state.openedAt !== undefined &&
    event.occurredAt < state.openedAt &&
    state.openedFrom !== undefined &&
    event.occurredAt > state.openedFrom &&
    event.occurredAt > (state.responderAt ?? 0);
  // A person's resolution of the last alert's incident, made after the pass that closed it and before the failure
  // that opened the current alert (delivered late): it held the finding if it failed in between. A failure the record
  // knows closes the current alert as held; one still on its way will (heldBefore).
  const pass = state.heldAfter;
  const afterPass =
    personResolved &&
    !known &&
    state.status === "open" &&
    pass !== undefined &&
    state.openedFrom !== undefined &&
    event.occurredAt > pass &&
    event.occurredAt < state.openedFrom;
  const failedBetween =
    afterPass && (state.failedAt ?? []).some((time) => time > pass && time < event.occurredAt);
  if (afterPass && !failedBetween)
    return {
      kind: "apply",
      note: resolvedNote(agent.name, event.incident),
      next: {
        ...state,
        heldBefore: Math.max(state.heldBefore ?? 0, event.occurredAt),
        version: state.version + 1,
      },
    };
  // A person's resolution, with no pass after it: it holds that failure, and the alert opened for it must close.
  const olderHoldsCurrent =
    failedBetween ||
    (personResolved &&
      olderActsOnCurrent &&
      state.status === "open" &&
      event.occurredAt > (state.passedAt ?? 0));
  // A reopening (delivered before or after that resolution): the resolution holds nothing.
  if (event.type === "incident.reopened" && olderActsOnCurrent) return olderReopened(event, state);
  // Every event of the current alert's incident occurs after its trigger was claimed (openedAt); an incident
  // other than the one recorded is adopted only by its own creation.
  if (!known && !olderHoldsCurrent && state.openedAt !== undefined && event.occurredAt < state.openedAt)
    return { kind: "ignore", reason: "the event is of an older alert of the finding" };
  // A person's resolution after the alert opened holds it, even when a trigger sent meanwhile split the alert into
  // a new incident in PagerDuty (one the stack then resolves: see below).
  const holdOfCurrentAlert =
    event.type === "incident.resolved" && agent.person && state.openedAt !== undefined;
  if (!known && state.incident !== undefined && event.type !== "incident.triggered" && !holdOfCurrentAlert)
    return { kind: "ignore", reason: `the alert's incident is ${state.incident.id}, not this one` };
  const { incident, next: withIncident } = withIncidentOf(state, event, known);
  // The incident is recorded once, so that later events (and notes, which name only the incident) find it.
  const remember = known ? undefined : withIncident;
  // A responder's resolution and reopening of the incident, as PagerDuty delivers them: a retried delivery may
  // come after a later action that was applied, which it must not undo.
  const byResponder =
    (event.type === "incident.resolved" && agent.person) || event.type === "incident.reopened";
  if (byResponder && known && state.responderAt !== undefined && event.occurredAt < state.responderAt)
    return { kind: "ignore", reason: "a later action of a responder on the incident was applied" };
  switch (event.type) {
    case "incident.triggered": {
      // A trigger that reached PagerDuty after a responder resolved the alert's incident opened this one, which
      // the hold says must not be open: the record is left unconfirmed, so that the finding's next event (Security
      // Hub's echo of this note) sends the resolve.
      // A resolve PagerDuty took after the incident opened closed it already.
      const openedPastHold =
        !known &&
        state.status === "resolved" &&
        state.closedBy === "responder" &&
        state.incident !== undefined &&
        !(state.sentAt !== undefined && state.sentAt > event.occurredAt);
      const next = openedPastHold ? { ...withIncident } : remember;
      if (openedPastHold) delete next?.sentAt;
      return {
        kind: "apply",
        note: triggeredNote(incident),
        ...(next === undefined ? {} : { next }),
      };
    }
    case "incident.acknowledged": {
      // The page's NOTIFIED did not land yet: the acknowledgement says it more surely.
      const notify = state.status === "open" && state.writeBack === "due";
      const next = notify ? { ...withIncident, writeBack: undefined } : remember;
      return {
        kind: "apply",
        note: acknowledgedNote(agent.name, incident),
        ...(notify ? { workflow: "NOTIFIED" as const } : {}),
        ...(next === undefined ? {} : { next }),
      };
    }
    case "incident.resolved": {
      if (!agent.person)
        return { kind: "ignore", reason: "resolved by the finding's own update, not by a person" };
      if (state.status !== "open") {
        // This resolution's hold is recorded and Security Hub was not told yet (its write failed): tell it again.
        if (known && state.closedBy === "responder")
          return { kind: "apply", note: resolvedNote(agent.name, incident), workflow: "RESOLVED" };
        // The responder resolved the incident before the finding's own close (a workflow change or a severity below
        // the filter, of a finding that still fails) happened: PagerDuty holds the responder's resolution, and so
        // does the state.
        const ofThisAlert =
          known ||
          (state.incident === undefined &&
            state.openedAt !== undefined &&
            event.occurredAt >= state.openedAt);
        const crossedClose =
          state.stillFailing !== undefined &&
          (state.stillFailing === 0 || event.occurredAt < state.stillFailing);
        if (ofThisAlert && crossedClose) {
          const held: AlertState = { ...withIncident, closedBy: "responder", responderAt: event.occurredAt };
          // The close, known to have come after the resolution, stays remembered with the hold, as one seen after it
          // is: a reopening then leaves the resolve owed instead of opening what Security Hub shows closed.
          if (state.stillFailing === 0) delete held.stillFailing;
          return {
            kind: "apply",
            note: resolvedNote(agent.name, incident),
            workflow: "RESOLVED",
            next: held,
          };
        }
        // It crossed the stack's resolve of a pass: a failure imported after the pass and before the resolution,
        // still on its way, is held by it.
        // Security Hub is not set RESOLVED: the finding passed, and its workflow is what its next import says.
        if (ofThisAlert && state.closedBy === "finding" && event.occurredAt > state.updatedAt)
          return {
            kind: "apply",
            note: resolvedNote(agent.name, incident),
            next: { ...withIncident, heldBefore: event.occurredAt, responderAt: event.occurredAt },
          };
        return { kind: "ignore", reason: "the alert was already resolved" };
      }
      // The alert's own incident stays recorded when a person resolved another one of the finding's.
      const recorded =
        state.incident === undefined || known ? withIncident : { ...state, version: state.version + 1 };
      // A pass after the resolution ended its hold; one before it is weighed with the failures the record knows, as a
      // severity below the filter is: a failure after the pass and before the resolution is what it resolved.
      const notFailing =
        (state.passedAt !== undefined && state.passedAt >= event.occurredAt) ||
        !failingWhen(state, event.occurredAt);
      if (notFailing && state.updatedAt > event.occurredAt) {
        // The finding passed (after this resolution, or last before it), or fell below the filter before it, and
        // fails again since (its events came out of order): the resolution holds nothing, and PagerDuty, holding
        // the incident resolved, must be told of the failure. The record is left unconfirmed, so that the
        // finding's next event (Security Hub's echo of this note) sends the trigger again.
        // A trigger PagerDuty accepted after the resolution opened the alert again already, in a new incident:
        // this note is that page's write-back (an echo of it is taken for the page's own, which clears a write-back
        // still due). The workflow is left as it is: a person's close set since, its event still on its way, is not
        // overwritten.
        const reopenedSince = state.sentAt !== undefined && state.sentAt > event.occurredAt;
        const regressed: AlertState = { ...recorded, responderAt: event.occurredAt };
        if (reopenedSince) {
          delete regressed.writeBack;
          return { kind: "apply", note: heldNothingNote(agent.name, incident), next: regressed };
        }
        regressed.writeBack = "due";
        delete regressed.sentAt;
        return { kind: "apply", note: resolvedNote(agent.name, incident), next: regressed };
      }
      {
        // A trigger PagerDuty accepted after the resolution (or of another incident) may have opened the alert
        // again: the record is left unconfirmed, so that the finding's next event (Security Hub's echo of this
        // RESOLVED) sends the resolve. A trigger still in flight is resolved by its sender. One accepted in the same
        // millisecond may have come after it.
        const undone =
          olderHoldsCurrent ||
          (state.incident !== undefined && !known) ||
          (state.sentAt !== undefined && state.sentAt >= event.occurredAt);
        const held: AlertState = {
          ...recorded,
          status: "resolved",
          closedBy: "responder",
          writeBack: undefined,
          responderAt: event.occurredAt,
        };
        if (undone) delete held.sentAt;
        return { kind: "apply", note: resolvedNote(agent.name, incident), workflow: "RESOLVED", next: held };
      }
    }
    case "incident.reopened": {
      // The finding was closed since the resolution (a severity below the filter, a person's RESOLVED): the
      // reopening ends the hold, and the finding's own close is what holds the alert now.
      const closedSince = state.status === "resolved" && state.stillFailing !== undefined;
      const reopen = state.status === "resolved" && state.closedBy === "responder" && !closedSince;
      const next: AlertState = reopen
        ? {
            ...withIncident,
            status: "open",
            closedBy: undefined,
            reopened: true,
            responderAt: event.occurredAt,
          }
        : { ...withIncident, responderAt: event.occurredAt };
      // The stack's resolve of a trigger the responder's resolution crossed reached PagerDuty after this reopening:
      // the incident is resolved again, so the record is left unconfirmed and the finding's next event (Security
      // Hub's echo of this NOTIFIED) sends the trigger again.
      if (reopen && state.sentAt !== undefined && state.sentAt >= event.occurredAt) {
        delete next.sentAt;
        next.writeBack = "due";
      }
      // A responder reopened an incident whose finding the stack has closed since (it passed, or was closed in
      // Security Hub): PagerDuty holds it open again, so its resolve is owed, sent at the finding's next event
      // (Security Hub's echo of this note).
      if (!reopen && state.status === "resolved" && state.paged) delete next.sentAt;
      if (closedSince) next.closedBy = "finding";
      return {
        kind: "apply",
        note: reopenedNote(agent.name, incident),
        ...(reopen ? { workflow: "NOTIFIED" as const } : {}),
        next,
      };
    }
    case "incident.annotated":
      return { kind: "apply", note: annotatedNote(agent.name, event.content ?? "", incident) };
  }
}

function groupNoteOf(state: GroupState, note: string): string {
  return groupNote(note, state.page?.group.control.id ?? "its control", failingOf(state));
}

/** What a member that joins a group whose incident a webhook has named is told: that incident, not the page. */
export function joinedNote(state: GroupState): string | undefined {
  return state.incident === undefined ? undefined : groupNoteOf(state, triggeredNote(state.incident));
}

/**
 * A responder reopened an older incident of the finding after the failure the current alert opened for. Its time
 * is recorded, so that the resolution it undid, delivered later, holds nothing. A hold that resolution already
 * recorded ends: the alert is open again, and since PagerDuty may hold its incident resolved (its sender resolved
 * a trigger the hold crossed), the trigger is owed, sent at the finding's next event (Security Hub's echo of this
 * NOTIFIED).
 */
function olderReopened(event: WebhookEvent, state: AlertState): WebhookEffect {
  const note = reopenedNote(event.agent.name, event.incident);
  const at = { ...state, responderAt: event.occurredAt, version: state.version + 1 };
  if (state.status !== "resolved" || state.closedBy !== "responder") return { kind: "apply", note, next: at };
  // Closed in Security Hub since the resolution (a severity below the filter, a person's RESOLVED): as with a
  // reopening of the current incident, the hold ends with the resolve owed.
  if (state.stillFailing !== undefined) {
    const owed: AlertState = { ...at, closedBy: "finding" };
    delete owed.sentAt;
    return { kind: "apply", note, next: owed };
  }
  const next: AlertState = { ...at, status: "open", reopened: true, writeBack: "due" };
  delete next.closedBy;
  delete next.sentAt;
  return { kind: "apply", note, workflow: "NOTIFIED", next };
}

export type GroupEffect =
  | { kind: "ignore"; reason: string }
  /** What every listed member is told, and the group's record after the event, when the event changes it. */
  | { kind: "apply"; note: string; workflow?: "NOTIFIED" | "RESOLVED"; next?: GroupState };

/**
 * What an event of a group's incident (alertPer: control) means for its members: each is told, as a finding with
 * its own alert would be, and a person's resolution holds the members it had (resolvedByResponder) until one of them
 * passes and fails again. The members' own alert states are left to their findings' next events.
 */
export function groupEffectOf(event: WebhookEvent, state: GroupState): GroupEffect {
  const known = state.incident?.id === event.incident.id;
  if (!known && state.incident !== undefined && event.type !== "incident.triggered")
    return { kind: "ignore", reason: `the group's incident is ${state.incident.id}, not this one` };
  const { incident, next: recorded } = withIncidentOf(state, event, known);
  const remember = known ? {} : { next: recorded };
  const of = (note: string) => groupNoteOf(state, note);
  const { agent } = event;
  switch (event.type) {
    case "incident.triggered":
      return { kind: "apply", note: of(triggeredNote(incident)), ...remember };
    case "incident.acknowledged":
      return {
        kind: "apply",
        note: of(acknowledgedNote(agent.name, incident)),
        workflow: "NOTIFIED",
        ...remember,
      };
    case "incident.resolved":
      if (!agent.person)
        return { kind: "ignore", reason: "resolved by its last member passing, not by a person" };
      if (state.status !== "open") {
        // This resolution's hold is recorded and the members were not told yet (a write failed): tell them again.
        if (known && state.closedBy === "responder")
          return { kind: "apply", note: of(resolvedNote(agent.name, incident)), workflow: "RESOLVED" };
        return { kind: "ignore", reason: "the group's alert was already resolved" };
      }
      return {
        kind: "apply",
        note: of(resolvedNote(agent.name, incident)),
        workflow: "RESOLVED",
        next: { ...resolvedByResponder(recorded), version: recorded.version },
      };
    case "incident.reopened": {
      if (state.status !== "resolved" || state.closedBy !== "responder")
        return { kind: "apply", note: of(reopenedNote(agent.name, incident)), ...remember };
      const { heldMembers: _held, closedBy: _closed, ...reopened } = recorded;
      return {
        kind: "apply",
        note: of(reopenedNote(agent.name, incident)),
        workflow: "NOTIFIED",
        next: { ...reopened, status: "open" },
      };
    }
    case "incident.annotated":
      return { kind: "apply", note: of(annotatedNote(agent.name, event.content ?? "", incident)) };
  }
}
