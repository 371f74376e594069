import type { FindingFormat } from "./alerts";

// A finding's history as the stack has heard it: what Security Hub showed of it at each time (a failure within the
// filter, a severity below it, a pass, a person's close in the console) and what responders did in PagerDuty. Events
// reach the stack in any order (EventBridge, SQS, PagerDuty's retries), but each says when it happened, so the
// history is kept in the order things happened, and whether the finding's alert should be open is read from it whole:
// the same facts give the same answer whichever order they came in. Pure.

/**
 * What a fact says: Security Hub showed the finding `failing` within the filter, failing `below` it, `passed` or
 * archived by its product, `suppressed` by a person (both done: a responder's hold ends) or `closed` (a person's
 * workflow RESOLVED in the console, which does not end a hold); a responder `resolved` or `reopened` its incident in
 * PagerDuty; or the stack wrote RESOLVED to Security Hub for a responder's resolution (`resolvedWritten`, dated by
 * the resolution), which a re-import keeps and which is no close of the finding's.
 */
export const FACT_KINDS = [
  "failing",
  "below",
  "passed",
  "suppressed",
  "closed",
  "resolved",
  "reopened",
  "resolvedWritten",
] as const;

export type FactKind = (typeof FACT_KINDS)[number];

export interface Fact {
  /** When it happened (epoch ms): an import's UpdatedAt, a console change's time, a webhook's occurred_at. */
  at: number;
  kind: FactKind;
  /** Which feed showed it (Security Hub's facts only): an echo of the stack's own write is told by its import. */
  format?: FindingFormat;
  /**
   * Known only from Security Hub's echo of the stack's own write, which shows the import it landed on failing by its
   * product (the workflow it shows is the stack's): the import's own event, when it comes, says what it was.
   */
  inferred?: true;
}

export type History = readonly Fact[];

/** How many facts are kept: the newest. A finding's hold is decided by its last few changes. */
export const FACTS_KEPT = 32;

/**
 * No event of a finding reaches the stack this long after a newer one happened: a record waits in its queue four
 * days at most, and a webhook older than 72 hours is not applied. Facts older than that can no longer be told apart
 * by one heard later.
 */
export const LATEST_LATE_MS = 7 * 24 * 3600 * 1000;

const SECURITY_HUB: readonly FactKind[] = ["failing", "below", "passed", "suppressed", "closed"];
/** A person's workflow change in the console. */
export const BY_PERSON: readonly FactKind[] = ["suppressed", "closed"];
/** The finding is done: a responder's hold ends. */
const DONE: readonly FactKind[] = ["passed", "suppressed"];
const RESPONDER: readonly FactKind[] = ["resolved", "reopened"];

function isSecurityHub(fact: Fact): boolean {
  return SECURITY_HUB.includes(fact.kind);
}

function isResponder(fact: Fact): boolean {
  return RESPONDER.includes(fact.kind);
}

/**
 * Facts in the order they happened. At the same millisecond a responder acted on what Security Hub showed then, and
 * the stack wrote what the responder did, so Security Hub's facts come first; among those, a workflow change on an
 * import comes after it (FACT_KINDS' order): whatever order they were heard in, the same facts are in the same order.
 */
function order(one: Fact, other: Fact): number {
  return (
    one.at - other.at ||
    FACT_KINDS.indexOf(one.kind) - FACT_KINDS.indexOf(other.kind) ||
    (one.format ?? "").localeCompare(other.format ?? "")
  );
}

/**
 * The history with one more fact, the newest FACTS_KEPT. A fact already known adds nothing, nor does an inferred one
 * for an import already known; an import's own fact takes the place of one inferred for it. A fact between two of
 * its kind and feed (a scan re-importing a finding that still fails) says nothing they do not once no fact can be
 * heard before it any more (LATEST_LATE_MS): it is dropped, so that a finding's history stays a few facts long.
 */
export function withFact(history: History | undefined, fact: Fact | undefined): Fact[] {
  const facts = [...(history ?? [])];
  if (fact === undefined) return facts;
  const sameImport = (known: Fact) => known.at === fact.at && known.format === fact.format;
  if (facts.some((known) => sameImport(known) && (known.kind === fact.kind || fact.inferred === true)))
    return facts;
  const kept =
    fact.inferred === true ? facts : facts.filter((known) => !(sameImport(known) && known.inferred));
  const ordered = [...kept, fact].sort(order);
  const alike = (one: Fact | undefined, other: Fact) =>
    one !== undefined &&
    one.kind === other.kind &&
    one.format === other.format &&
    one.inferred === other.inferred;
  const settled = (ordered.at(-1)?.at ?? 0) - LATEST_LATE_MS;
  return trimmed(
    ordered.filter(
      (known, index) =>
        known.at >= settled ||
        !isSecurityHub(known) ||
        !alike(ordered[index - 1], known) ||
        !alike(ordered[index + 1], known),
    ),
  );
}

/**
 * The newest FACTS_KEPT facts, and always those that decide a responder's hold: the last responder's action, what
 * Security Hub showed when it was taken, the first pass after it, and the stack's last RESOLVED written. A finding a
 * responder resolved, scanned every hour, would otherwise lose the resolution after FACTS_KEPT imports and page again.
 */
function trimmed(facts: Fact[]): Fact[] {
  if (facts.length <= FACTS_KEPT) return facts;
  const kept = new Set<Fact>();
  const last = facts.filter(isResponder).at(-1);
  if (last !== undefined) {
    kept.add(last);
    const shown = lastBefore(facts, last.at);
    if (shown !== undefined) kept.add(shown);
    const done = facts.find((fact) => DONE.includes(fact.kind) && fact.at > last.at);
    if (done !== undefined) kept.add(done);
  }
  const written = facts.filter((fact) => fact.kind === "resolvedWritten").at(-1);
  if (written !== undefined) kept.add(written);
  const newest = new Set(facts.filter((fact) => !kept.has(fact)).slice(-(FACTS_KEPT - kept.size)));
  return facts.filter((fact) => kept.has(fact) || newest.has(fact));
}

/**
 * Whether Security Hub showed the finding failing within the filter just after `at`: its last fact by then, from
 * either feed (the new Security Hub updates a finding's ASFF and OCSF copies together, and either one's pass is the
 * finding's; copies of one moment that differ, failing if either is).
 */
export function failingAt(history: History, at: number): boolean {
  const last = lastBefore(history, at);
  if (last === undefined) return false;
  // Both feeds at the same moment (one import, two copies): failing if either copy is.
  const copies = new Map<FindingFormat | undefined, FactKind>();
  for (const fact of history)
    if (isSecurityHub(fact) && fact.at === last.at) copies.set(fact.format, fact.kind);
  return [...copies.values()].includes("failing");
}

/** Security Hub's last fact of the finding by `at`. */
export function lastBefore(history: History, at: number): Fact | undefined {
  return history.filter((fact) => isSecurityHub(fact) && fact.at <= at).at(-1);
}

/**
 * Whether a responder's resolution holds the finding: the last responder's action was a resolution, made while the
 * finding failed within the filter, and the finding has not passed since.
 */
export function heldOf(history: History): boolean {
  const last = history.filter(isResponder).at(-1);
  if (last?.kind !== "resolved") return false;
  return (
    failingAt(history, last.at) && !history.some((fact) => DONE.includes(fact.kind) && fact.at > last.at)
  );
}

/** Whether the finding's alert should be open: it fails within the filter now, and no responder's resolution holds it. */
export function openOf(history: History): boolean {
  return failingAt(history, Infinity) && !heldOf(history);
}

/** Whether two histories hold the same facts: a fact added to a full history keeps its length. */
export function sameHistory(one: History, other: History): boolean {
  return JSON.stringify(one) === JSON.stringify(other);
}
