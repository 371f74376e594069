import assert from "assert/strict";
import { T0, alertEvent as event } from "./support/alertEvents";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { systemClock } from "../handler/clock";
import { createDynamoPacingStore, createDynamoAlertStore } from "../handler/state/dynamo";
import { decide, type AlertEvent, type AlertState } from "../handler/state/alerts";
import { effectOf } from "../handler/sync/webhook";
import { createPageWriteBack } from "../handler/sync/pageWriteBack";
import type { FindingUpdate } from "../handler/sync/securityHub";
import { createAlertTracker } from "../handler/state/tracker";
import { createMemoryAlertStore } from "../handler/state/store";
import { silentLogger } from "../handler/telemetry/log";
import { silentMeter } from "../handler/telemetry/metrics";
import { createDynamoDbService } from "../standins/dynamodb";
import { passedReimport, importedEvent } from "../tools/simulation/findings";
import { inProcessClient } from "../tools/simulation/inProcessAws";
import { startDynalite, type DynamoDbEmulator } from "./support/dynalite";
import { findingOf, sqsEvent } from "./support/fixtures";
import { ROUTING_KEY, STATE_TABLE, failures, startWorld, type World } from "./support/world";
import { ACCEPT_ALL } from "../handler/finding/filter";
import { routeFinding } from "../handler/finding/route";

function routedTrigger(finding: unknown) {
  const routed = routeFinding(finding, ACCEPT_ALL);
  assert.ok(routed.kind === "send" && routed.action === "trigger");
  return routed;
}

const HOUR = 3600_000;

function state(overrides: Partial<AlertState> = {}): AlertState {
  return {
    dedupKey: "securityhub-abc",
    status: "open",
    updatedAt: T0,
    fingerprints: { asff: "f1" },
    sentAt: T0,
    paged: true,
    version: 3,
    ...overrides,
  };
}

const OPTIONS = { now: T0 + HOUR, refreshMs: 24 * HOUR, resolveUntracked: false, writeBack: false };

/** The real tracker over an in-memory store, at a fixed moment. */
function memoryTracker(store: ReturnType<typeof createMemoryAlertStore>, now: number) {
  return createAlertTracker({
    store,
    clock: { now: () => now, sleep: () => Promise.resolve() },
    log: silentLogger,
    meter: silentMeter,
    refreshMs: 0,
    resolveUntrackedUntil: 0,
    writeBack: false,
  });
}

function outcome(decision: ReturnType<typeof decide>): string {
  if (decision.kind === "wait") return "wait";
  return decision.kind === "send" ? `send ${decision.change}` : `skip ${decision.skip}`;
}

/** A person's action on the finding's incident in PagerDuty, as its webhook tells it. */
function webhook(
  type: "incident.resolved" | "incident.reopened" | "incident.triggered" | "incident.acknowledged",
  alert: AlertState,
  occurredAt: number,
  incident = "Q1",
) {
  return effectOf(
    {
      id: `${type}-${occurredAt}`,
      type,
      occurredAt,
      agent: { person: true, name: "Ada" },
      incident: { id: incident },
    },
    alert,
  );
}

describe("alert state decisions (pure)", () => {
  const cases: [string, AlertState | undefined, Partial<AlertEvent>, string][] = [
    ["a first trigger pages", undefined, {}, "send new"],
    ["an unchanged re-import is skipped", state(), { updatedAt: T0 + HOUR }, "skip unchanged"],
    [
      "a severity change (fingerprint) is sent",
      state(),
      { fingerprint: "f2", updatedAt: T0 + HOUR },
      "send update",
    ],
    [
      "an older trigger than the open alert's is stale",
      state(),
      { updatedAt: T0 - HOUR, fingerprint: "f0" },
      "skip stale",
    ],
    ["an unconfirmed claim is sent again", state({ sentAt: undefined }), {}, "send retry"],
    ["a resolve for an open alert is sent", state(), { action: "resolve", passed: true }, "send resolve"],
    [
      "a resolve older than the open alert's trigger is stale",
      state(),
      { action: "resolve", updatedAt: T0 - 1 },
      "skip stale",
    ],
    [
      "a resolve for a finding that never paged is skipped",
      undefined,
      { action: "resolve" },
      "skip nothingToResolve",
    ],
    [
      "a trigger older than a recorded resolution stays skipped",
      state({ status: "resolved", closedBy: "finding" }),
      { updatedAt: T0 - HOUR },
      "skip stale",
    ],
    [
      "a regression opens a new alert",
      state({ status: "resolved", closedBy: "finding" }),
      { updatedAt: T0 + HOUR },
      "send regression",
    ],
    [
      "a failure after a never-paged resolution pages",
      state({ status: "resolved", paged: false, fingerprints: {} }),
      { updatedAt: T0 + HOUR },
      "send new",
    ],
    [
      "a responder's resolution holds a still-failing finding",
      state({ status: "resolved", closedBy: "responder" }),
      { updatedAt: T0 + HOUR },
      "skip heldByResponder",
    ],
    [
      "a person's custom action pages through a responder's hold",
      state({ status: "resolved", closedBy: "responder" }),
      { manual: true },
      "send regression",
    ],
    [
      "a resolve for a resolved alert is skipped",
      state({ status: "resolved", closedBy: "finding" }),
      { action: "resolve", updatedAt: T0 + HOUR },
      "skip alreadyResolved",
    ],
  ];
  for (const [what, stored, incoming, expected] of cases) {
    it(what, () => assert.equal(outcome(decide(stored, event(incoming), OPTIONS)), expected));
  }

  it("takes the same finding's copy from the other feed as its open alert, then compares each copy with its own", () => {
    const fromOcsf = decide(
      state(),
      event({ format: "ocsf", fingerprint: "o1", updatedAt: T0 + HOUR }),
      OPTIONS,
    );
    assert.ok(fromOcsf.kind === "skip" && fromOcsf.skip === "unchanged" && fromOcsf.record !== undefined);
    assert.deepEqual(fromOcsf.record.fingerprints, { asff: "f1", ocsf: "o1" });
    const seen = fromOcsf.record;
    assert.equal(
      outcome(decide(seen, event({ format: "ocsf", fingerprint: "o1", updatedAt: T0 + 2 * HOUR }), OPTIONS)),
      "skip unchanged",
    );
    assert.equal(
      outcome(decide(seen, event({ format: "ocsf", fingerprint: "o2", updatedAt: T0 + 2 * HOUR }), OPTIONS)),
      "send update",
    );
    assert.equal(
      outcome(decide(seen, event({ format: "asff", fingerprint: "f1", updatedAt: T0 + 2 * HOUR }), OPTIONS)),
      "skip unchanged",
    );
  });

  it("re-sends an unchanged open alert once alertRefreshHours have passed, and never with 0", () => {
    const stale = state({ sentAt: T0 - 25 * HOUR });
    assert.equal(outcome(decide(stale, event({ updatedAt: T0 + HOUR }), OPTIONS)), "send refresh");
    assert.equal(
      outcome(decide(stale, event({ updatedAt: T0 + HOUR }), { ...OPTIONS, refreshMs: 0 })),
      "skip unchanged",
    );
  });

  it("remembers a resolution it did not send, so that a trigger still waiting in another lane stays skipped", () => {
    const decision = decide(undefined, event({ action: "resolve" }), OPTIONS);
    assert.ok(decision.kind === "skip" && decision.record !== undefined);
    assert.equal(decision.record.status, "resolved");
    assert.equal(decision.record.paged, false);
    assert.equal(outcome(decide(decision.record, event({ updatedAt: T0 - 1 }), OPTIONS)), "skip stale");
  });

  it("records only a newer UpdatedAt for the passed re-import of an already resolved finding, and writes nothing for an equal one", () => {
    const resolved = state({ status: "resolved", closedBy: "finding" });
    const newer = decide(resolved, event({ action: "resolve", updatedAt: T0 + HOUR, passed: true }), OPTIONS);
    assert.ok(newer.kind === "skip" && newer.record !== undefined);
    assert.deepEqual(newer.record, { ...resolved, updatedAt: T0 + HOUR, version: resolved.version + 1 });
    const same = decide(resolved, event({ action: "resolve", updatedAt: T0, passed: true }), OPTIONS);
    assert.ok(same.kind === "skip" && same.record === undefined);
  });

  it("lets a passed finding end a responder's hold, so that its next failure pages", () => {
    const held = state({ status: "resolved", closedBy: "responder" });
    const workflowOnly = decide(held, event({ action: "resolve", updatedAt: T0, passed: false }), OPTIONS);
    assert.ok(
      workflowOnly.kind === "skip" && workflowOnly.record === undefined,
      "Workflow RESOLVED alone is the responder's own echo",
    );
    const passed = decide(held, event({ action: "resolve", updatedAt: T0 + HOUR, passed: true }), OPTIONS);
    assert.ok(passed.kind === "skip" && passed.record?.closedBy === "finding");
    assert.equal(
      outcome(decide(passed.record, event({ updatedAt: T0 + 2 * HOUR }), OPTIONS)),
      "send regression",
    );
  });

  describe("every event is judged against the newest UpdatedAt seen, sent or not", () => {
    /** Applies the events in order as the tracker would (records written, sends confirmed); the outcomes. */
    function run(events: Partial<AlertEvent>[], from?: AlertState): string[] {
      let stored = from;
      return events.map((incoming) => {
        const decision = decide(stored, event(incoming), OPTIONS);
        if (decision.kind === "send") stored = { ...decision.next, sentAt: OPTIONS.now };
        if (decision.kind === "skip" && decision.record !== undefined) stored = decision.record;
        return outcome(decision);
      });
    }

    it("a delayed resolve does not close the alert of a finding failing again since (FAILED t1, FAILED t3, PASSED t2)", () => {
      assert.deepEqual(
        run([
          { updatedAt: T0 },
          { updatedAt: T0 + 3 * HOUR },
          { action: "resolve", passed: true, updatedAt: T0 + 2 * HOUR },
        ]),
        ["send new", "skip unchanged", "skip stale"],
      );
    });

    it("a delayed older failure does not re-page a finding whose newer pass was already resolved", () => {
      assert.deepEqual(
        run([
          { updatedAt: T0 },
          { action: "resolve", passed: true, updatedAt: T0 + HOUR },
          { action: "resolve", passed: true, updatedAt: T0 + 4 * HOUR },
          { updatedAt: T0 + 3 * HOUR },
        ]),
        ["send new", "send resolve", "skip alreadyResolved", "skip stale"],
      );
    });

    it("Workflow RESOLVED set in the console closes the alert, and the echo of the page's own NOTIFIED (same UpdatedAt) does not re-page", () => {
      assert.deepEqual(
        run([
          { updatedAt: T0 },
          { action: "resolve", passed: false, updatedAt: T0 },
          { updatedAt: T0, triaged: true },
        ]),
        ["send new", "send resolve", "skip stale"],
      );
    });
  });

  it("a finding that falls below the filter while failing resolves its alert; the echo of a write-back, a page by hand and a later failure within the filter are judged as such", () => {
    const medium = routeFinding(
      { ...findingOf("electriceye-s3-encryption.json"), Severity: { Label: "MEDIUM" } },
      { ...ACCEPT_ALL, severityLabels: ["HIGH", "CRITICAL"] },
    );
    assert.ok(medium.kind === "send" && medium.action === "resolve" && medium.below && !medium.passed);
    const below = { action: "resolve" as const, passed: false, below: true };
    assert.equal(
      outcome(decide(state(), event({ ...below, updatedAt: T0 + HOUR }), OPTIONS)),
      "send resolve",
    );
    assert.equal(outcome(decide(state(), event({ ...below, updatedAt: T0 }), OPTIONS)), "skip stale");
    assert.equal(
      outcome(decide(state({ byHand: true }), event({ ...below, updatedAt: T0 + HOUR }), OPTIONS)),
      "skip unchanged",
    );
    assert.equal(outcome(decide(undefined, event(below), OPTIONS)), "skip nothingToResolve");
    const byHand = decide(undefined, event({ manual: true }), OPTIONS);
    assert.ok(byHand.kind === "send" && byHand.next.byHand === true);
    const resolved = state({ status: "resolved", closedBy: "finding", updatedAt: T0 + HOUR });
    assert.equal(outcome(decide(resolved, event({ updatedAt: T0 + 2 * HOUR }), OPTIONS)), "send regression");
  });

  it("a responder's resolution that a later trigger may have undone (a new incident) leaves the resolve owed, sent even for a newer failure it holds off", () => {
    const resolved = (incident: string, occurredAt: number) =>
      effectOf(
        {
          id: "E1",
          type: "incident.resolved",
          occurredAt,
          agent: { person: true, name: "Ada" },
          incident: { id: incident },
        },
        state({ incident: { id: "Q1" }, openedAt: T0, sentAt: T0 + 60_000 }),
      );
    const before = resolved("Q1", T0 + 120_000);
    assert.ok(before.kind === "apply" && before.next?.closedBy === "responder");
    assert.equal(before.next.sentAt, T0 + 60_000, "the last send came before the resolution: nothing owed");
    for (const undone of [resolved("Q1", T0 + 30_000), resolved("Q0", T0 + 120_000)]) {
      assert.ok(
        undone.kind === "apply" && undone.next?.closedBy === "responder" && undone.next.sentAt === undefined,
      );
      const next = decide(undone.next, event({ updatedAt: T0 + HOUR }), OPTIONS);
      assert.ok(next.kind === "send" && next.change === "retry" && next.next.status === "resolved");
      assert.equal(next.next.closedBy, "responder");
    }
  });

  it("after a responder's reopen, Security Hub's echo of a note the stack wrote while RESOLVED does not close the alert; a person's change does", () => {
    const webhook = (type: "incident.resolved" | "incident.reopened", alert: AlertState) =>
      effectOf(
        {
          id: type,
          type,
          occurredAt: T0 + 120_000,
          agent: { person: true, name: "Ada" },
          incident: { id: "Q1" },
        },
        alert,
      );
    const held = webhook("incident.resolved", state({ incident: { id: "Q1" }, openedAt: T0 }));
    assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
    const reopened = webhook("incident.reopened", held.next);
    assert.ok(reopened.kind === "apply" && reopened.next?.status === "open");
    // The echo keeps the finding's UpdatedAt and shows the stack's note with the workflow of before the reopen.
    const echo = event({ action: "resolve", triaged: true, stackNoted: true });
    assert.equal(outcome(decide(reopened.next, echo, OPTIONS)), "skip stale");
    const person = event({ action: "resolve", triaged: true, stackNoted: false });
    assert.equal(outcome(decide(reopened.next, person, OPTIONS)), "send resolve");
    // Without a reopen, the echo of a write is still the finding's own resolution (it passed, or a person's earlier change).
    assert.equal(outcome(decide(state(), echo, OPTIONS)), "send resolve");
    assert.equal(outcome(decide(reopened.next, { ...echo, updatedAt: T0 + HOUR }, OPTIONS)), "send resolve");
  });

  describe("what the lifecycle explorer found at 20,000 runs", () => {
    /** An alert open now, of incident Q1, opened at T0 for the failure imported then. */
    const openQ1 = (changes: Partial<AlertState>) =>
      state({ incident: { id: "Q1" }, openedAt: T0, openedFrom: T0, ...changes });
    /** The same alert resolved now. */
    const resolvedQ1 = (changes: Partial<AlertState>) => openQ1({ status: "resolved", ...changes });

    it("a responder's resolution that crossed a console RESOLVED (the finding still failing) holds the finding; one that came before its pass does not", () => {
      const open = state({ incident: { id: "Q1" }, openedAt: T0 });
      const console = decide(open, event({ action: "resolve", triaged: true }), OPTIONS);
      assert.ok(console.kind === "send" && console.next.stillFailing === 0, "when it happened is not known");
      const crossed = webhook("incident.resolved", { ...console.next, sentAt: T0 + 2_000 }, T0 + 1_000);
      assert.ok(crossed.kind === "apply" && crossed.next?.closedBy === "responder");
      assert.equal(crossed.workflow, "RESOLVED");
      const failingAgain = event({ updatedAt: T0 + HOUR });
      assert.equal(outcome(decide(crossed.next, failingAgain, OPTIONS)), "skip heldByResponder");

      // A console change Security Hub emitted at +0.5 s came before the resolution at +2 s: the finding was not
      // failing in Security Hub when the responder resolved, and its next failure pages. (EventBridge's time is in
      // whole seconds: within the second, the resolution may have come first, and holds.)
      const earlier = decide(open, event({ action: "resolve", triaged: true, at: T0 + 500 }), OPTIONS);
      assert.ok(earlier.kind === "send" && earlier.next.stillFailing === T0 + 500);
      const after = webhook("incident.resolved", { ...earlier.next, sentAt: T0 + 2_000 }, T0 + 2_000);
      assert.ok(after.kind === "apply" && after.next?.closedBy === "finding");
      assert.equal(outcome(decide(after.next, failingAgain, OPTIONS)), "send regression");
      const before = webhook("incident.resolved", { ...earlier.next, sentAt: T0 + 2_000 }, T0 + 400);
      assert.ok(before.kind === "apply" && before.next?.closedBy === "responder");

      const passed = decide(open, event({ action: "resolve", passed: true, updatedAt: T0 + 1_500 }), OPTIONS);
      assert.ok(passed.kind === "send" && passed.next.stillFailing === undefined);
      const afterPass = webhook("incident.resolved", { ...passed.next, sentAt: T0 + 2_000 }, T0 + 1_000);
      assert.equal(afterPass.kind, "ignore");
      assert.equal(
        outcome(decide({ ...passed.next, sentAt: T0 + 2_000 }, failingAgain, OPTIONS)),
        "send regression",
      );
    });

    it("a resolution delivered after the reopening that followed it (a retried delivery) is superseded", () => {
      const open = state({ incident: { id: "Q1" }, openedAt: T0 });
      const reopened = webhook("incident.reopened", open, T0 + 2_000);
      assert.ok(reopened.kind === "apply" && reopened.next?.status === "open");
      assert.equal(webhook("incident.resolved", reopened.next, T0 + 1_000).kind, "ignore");
      // In order, the resolution holds and the reopening opens the alert again.
      const held = webhook("incident.resolved", open, T0 + 1_000);
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      const again = webhook("incident.reopened", held.next, T0 + 2_000);
      assert.ok(again.kind === "apply" && again.next?.status === "open" && again.next.sentAt === T0);
    });

    it("a reopening that the stack's own resolve (of a trigger the resolution crossed) closed again leaves the trigger owed", () => {
      // The resolution at +1 s crossed a trigger confirmed at +3 s; the stack's resolve of it landed at +5 s,
      // after the responder's reopening at +2 s.
      const held = state({ incident: { id: "Q1" }, openedAt: T0, status: "resolved" });
      const closedAgain = {
        ...held,
        closedBy: "responder" as const,
        responderAt: T0 + 1_000,
        sentAt: T0 + 5_000,
      };
      const reopened = webhook("incident.reopened", closedAgain, T0 + 2_000);
      assert.ok(reopened.kind === "apply" && reopened.next?.status === "open");
      assert.equal(reopened.next.sentAt, undefined);
      assert.equal(reopened.next.writeBack, "due");
      assert.equal(outcome(decide(reopened.next, event(), OPTIONS)), "send retry");
    });

    it("judges a responder's resolution by when it happened against the finding's imports, also out of order", () => {
      // Failing at T0, passed at +1 s (the alert resolved), the resolution at +2 s crossed that resolve: a failure
      // imported at +1.5 s, still on its way, is held by it; one imported after it pages.
      const passed = state({
        incident: { id: "Q1" },
        openedAt: T0,
        status: "resolved",
        closedBy: "finding",
        updatedAt: T0 + 1_000,
      });
      const crossed = webhook("incident.resolved", passed, T0 + 2_000);
      assert.ok(crossed.kind === "apply" && crossed.next?.heldBefore === T0 + 2_000);
      assert.equal(
        crossed.workflow,
        undefined,
        "the finding passed: Security Hub keeps what its next import says",
      );
      assert.equal(
        outcome(decide(crossed.next, event({ updatedAt: T0 + 1_500 }), OPTIONS)),
        "skip heldByResponder",
      );
      assert.equal(
        outcome(decide(crossed.next, event({ updatedAt: T0 + 2_500 }), OPTIONS)),
        "send regression",
      );
      assert.equal(
        webhook("incident.resolved", passed, T0 + 500).kind,
        "ignore",
        "before the pass: nothing to hold",
      );

      // Failing at T0 and +3 s, the pass of +1 s arriving last: a resolution at +0.5 s held nothing after that pass,
      // and PagerDuty holds the incident resolved, so the trigger is owed again.
      const open = state({ incident: { id: "Q1" }, openedAt: T0, updatedAt: T0 + 3_000 });
      const late = decide(open, event({ action: "resolve", passed: true, updatedAt: T0 + 1_000 }), OPTIONS);
      assert.ok(late.kind === "skip" && late.skip === "stale" && late.record?.passedAt === T0 + 1_000);
      // A trigger PagerDuty accepted after the resolution (an update, here at +4 s) opened the alert again already:
      // nothing is owed.
      const updated = webhook("incident.resolved", { ...late.record, sentAt: T0 + 4_000 }, T0 + 500);
      assert.ok(updated.kind === "apply" && updated.next?.status === "open");
      assert.equal(updated.next.sentAt, T0 + 4_000);
      const regressed = webhook("incident.resolved", late.record, T0 + 500);
      assert.ok(
        regressed.kind === "apply" &&
          regressed.next?.status === "open" &&
          regressed.next.sentAt === undefined,
      );
      assert.equal(outcome(decide(regressed.next, event({ updatedAt: T0 + 3_000 }), OPTIONS)), "send retry");

      // An older incident's resolution that came after the failure the current alert opened for holds that alert.
      const reopened = state({ openedAt: T0 + 10_000, openedFrom: T0 + 1_000, sentAt: T0 + 10_000 });
      const older = webhook("incident.resolved", reopened, T0 + 2_000, "Q0");
      assert.ok(
        older.kind === "apply" && older.next?.closedBy === "responder" && older.next.sentAt === undefined,
      );
      assert.equal(
        webhook("incident.resolved", { ...reopened, openedFrom: T0 + 3_000 }, T0 + 2_000, "Q0").kind,
        "ignore",
      );
    });

    it("a resolution that came after a pass the function saw late, or after a console RESOLVED it saw late, holds nothing", () => {
      // Failing at T0 (paged) and +3 s, passed at +1 s (arriving last), the resolution at +2 s: the finding was
      // passing when the responder resolved.
      const open = openQ1({ updatedAt: T0 + 3_000 });
      const late = decide(open, event({ action: "resolve", passed: true, updatedAt: T0 + 1_000 }), OPTIONS);
      assert.ok(late.kind === "skip" && late.record?.passedAt === T0 + 1_000);
      const resolution = webhook("incident.resolved", late.record, T0 + 2_000);
      assert.ok(resolution.kind === "apply" && resolution.next?.status === "open");
      assert.equal(resolution.next.sentAt, undefined, "the trigger is owed");
      // A pass older than the failure that opened the alert says nothing about the alert.
      const before = decide(open, event({ action: "resolve", passed: true, updatedAt: T0 - 1_000 }), OPTIONS);
      assert.ok(before.kind === "skip" && before.record === undefined);

      // A console RESOLVED Security Hub emitted at +1 s, seen after the responder's resolution at +2 s was applied.
      const held = state({
        incident: { id: "Q1" },
        openedAt: T0,
        status: "resolved",
        closedBy: "responder",
        responderAt: T0 + 2_000,
      });
      const console = decide(held, event({ action: "resolve", triaged: true, at: T0 + 1_000 }), OPTIONS);
      assert.ok(console.kind === "skip" && console.record?.closedBy === "finding");
      assert.equal(
        outcome(decide(console.record, event({ updatedAt: T0 + HOUR }), OPTIONS)),
        "send regression",
      );
      const after = decide(held, event({ action: "resolve", triaged: true, at: T0 + 3_000 }), OPTIONS);
      assert.ok(after.kind === "skip" && after.record !== undefined);
      assert.equal(after.record.closedBy, "responder", "after the resolution: the hold stays");
      assert.equal(after.record.stillFailing, T0 + 3_000, "and the person's close is remembered");
    });

    it("a responder's reopening of an older incident, delivered before or after the resolution it undid, leaves the alert open", () => {
      // Failing at T0 + 3 (the alert of incident Q2 opened for it at +10 s); Q1 was resolved by a responder at
      // +4 and reopened at +5: the resolution holds nothing, whichever of the two webhooks comes first.
      const open = state({ openedAt: T0 + 10_000, openedFrom: T0 + 3, sentAt: T0 + 10_000 });
      const reopened = webhook("incident.reopened", open, T0 + 5, "Q1");
      assert.ok(reopened.kind === "apply" && reopened.next?.responderAt === T0 + 5);
      assert.equal(reopened.next.status, "open");
      assert.equal(webhook("incident.resolved", reopened.next, T0 + 4, "Q1").kind, "ignore");
      // The resolution first: it holds the alert (its resolve owed), and the reopening ends the hold, owing the
      // trigger, which Security Hub's echo of the reopening's NOTIFIED sends.
      const held = webhook("incident.resolved", open, T0 + 4, "Q1");
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      const ended = webhook("incident.reopened", held.next, T0 + 5, "Q1");
      assert.ok(ended.kind === "apply" && ended.next?.status === "open" && ended.next.sentAt === undefined);
      assert.equal(ended.workflow, "NOTIFIED");
      assert.equal(outcome(decide(ended.next, event({ updatedAt: T0 + 3 }), OPTIONS)), "send retry");
      // The reopening before the trigger of T0 + 3 was claimed: the alert it opens keeps the reopening's time.
      const passed = state({
        status: "resolved",
        closedBy: "finding",
        responderAt: T0 + 5,
        updatedAt: T0 + 2,
      });
      const regression = decide(passed, event({ updatedAt: T0 + 3 }), OPTIONS);
      assert.ok(regression.kind === "send" && regression.next.responderAt === T0 + 5);
      const later = decide(passed, event({ updatedAt: T0 + 6 }), OPTIONS);
      assert.ok(later.kind === "send" && later.next.responderAt === undefined);
    });

    it("a severity below the filter closes the alert at its UpdatedAt: a resolution after it holds nothing, one before it holds", () => {
      // CRITICAL at T0 (paged), MEDIUM at +1 s (Security Hub's event stamped within that second), CRITICAL at +3 s.
      const open = openQ1({});
      const below = decide(
        open,
        event({ action: "resolve", below: true, updatedAt: T0 + 1_000, at: T0 + 2_000 }),
        OPTIONS,
      );
      assert.ok(below.kind === "send" && below.next.stillFailing === T0 + 1_000);
      const closed = { ...below.next, sentAt: T0 + 1_100 };
      const after = webhook("incident.resolved", closed, T0 + 1_500);
      assert.ok(after.kind === "apply" && after.next?.closedBy === "finding");
      assert.equal(outcome(decide(after.next, event({ updatedAt: T0 + 3_000 }), OPTIONS)), "send regression");
      const before = webhook("incident.resolved", closed, T0 + 500);
      assert.ok(before.kind === "apply" && before.next?.closedBy === "responder");
      // The MEDIUM seen only after the CRITICAL of +3 s, the resolution coming last: the same judgement.
      const failing = openQ1({ updatedAt: T0 + 3_000 });
      const late = decide(failing, event({ action: "resolve", below: true, updatedAt: T0 + 1_000 }), OPTIONS);
      assert.ok(late.kind === "skip" && late.record !== undefined);
      assert.deepEqual(late.record.belowAt, [T0 + 1_000]);
      const heldNothing = webhook("incident.resolved", late.record, T0 + 1_500);
      assert.ok(heldNothing.kind === "apply" && heldNothing.next?.status === "open");
      assert.equal(heldNothing.next.sentAt, undefined, "the trigger is owed");
      const holds = webhook("incident.resolved", late.record, T0 + 500);
      assert.ok(holds.kind === "apply" && holds.next?.closedBy === "responder");
      // A second MEDIUM, at +2 s, after the resolution of +1.5 s (both seen after the CRITICAL of +3 s): the last
      // import before the resolution is still the MEDIUM of +1 s, and the resolution holds nothing.
      const second = decide(
        late.record,
        event({ action: "resolve", below: true, updatedAt: T0 + 2_000 }),
        OPTIONS,
      );
      assert.ok(second.kind === "skip" && second.record !== undefined);
      const around = webhook("incident.resolved", second.record, T0 + 1_500);
      assert.ok(around.kind === "apply" && around.next?.status === "open", "the trigger is owed");
      // A failure seen between them (+1.8 s, out of order too) was what a resolution of +1.9 s held.
      const between = decide(second.record, event({ updatedAt: T0 + 1_800 }), OPTIONS);
      assert.ok(between.kind === "skip" && between.record !== undefined);
      const heldBetween = webhook("incident.resolved", between.record, T0 + 1_900);
      assert.ok(heldBetween.kind === "apply" && heldBetween.next?.closedBy === "responder");
      // The MEDIUM seen only after the resolution was applied (before the CRITICAL of +3 s): it holds nothing.
      const held = state({ ...open, status: "resolved", closedBy: "responder", responderAt: T0 + 1_500 });
      const medium = decide(held, event({ action: "resolve", below: true, updatedAt: T0 + 1_000 }), OPTIONS);
      assert.ok(medium.kind === "skip" && medium.record?.closedBy === "finding");
      assert.equal(
        outcome(decide(medium.record, event({ updatedAt: T0 + 3_000 }), OPTIONS)),
        "send regression",
      );
      assert.equal(
        outcome(decide(before.next, event({ updatedAt: T0 + 3_000 }), OPTIONS)),
        "skip heldByResponder",
      );
    });

    it("a pass seen only after a responder's resolution and a newer failure owes the trigger, which Security Hub's echo sends", () => {
      // Failing at T0 (paged) and +3 s; the responder resolved at +2 s; the pass of +1 s (or of +2.5 s) arrives
      // last: the finding was passing when the responder resolved (or passed after it), and fails again.
      const held = resolvedQ1({
        closedBy: "responder",
        responderAt: T0 + 2_000,
        updatedAt: T0 + 3_000,
        sentAt: T0 + 3_500,
      });
      const withSync = { ...OPTIONS, writeBack: true };
      for (const passedAt of [T0 + 1_000, T0 + 2_500]) {
        const late = decide(held, event({ action: "resolve", passed: true, updatedAt: passedAt }), withSync);
        assert.ok(late.kind === "skip" && late.record !== undefined, String(passedAt));
        assert.deepEqual(
          late.notice,
          { pageAgain: passedAt },
          "Security Hub is told, and its echo carries the failing finding",
        );
        assert.equal(late.record.status, "open");
        assert.equal(late.record.sentAt, undefined, "the trigger is owed");
        assert.equal(late.record.writeBack, "due");
        const echo = event({ updatedAt: T0 + 3_000, triaged: true, stackNoted: true });
        assert.equal(outcome(decide(late.record, echo, withSync)), "send retry");
        const resolvedEcho = event({
          action: "resolve",
          updatedAt: T0 + 3_000,
          triaged: true,
          stackNoted: true,
        });
        assert.equal(
          outcome(decide(late.record, resolvedEcho, withSync)),
          "skip stale",
          "the echo of the resolution's RESOLVED does not close it",
        );
      }
      // Also when the record owes a resolve (a trigger opened a new incident past the hold): it is owed no longer.
      const owedResolve = { ...held, sentAt: undefined, incident: { id: "Q2" } };
      const past = decide(
        owedResolve,
        event({ action: "resolve", passed: true, updatedAt: T0 + 1_000 }),
        withSync,
      );
      assert.ok(past.kind === "skip" && past.record?.status === "open");
      assert.deepEqual(past.notice, { pageAgain: T0 + 1_000 });
      // A pass before the failure that opened the alert says nothing of it; a severity below the filter after the
      // resolution does not end its hold.
      const older = decide(held, event({ action: "resolve", passed: true, updatedAt: T0 - 1_000 }), withSync);
      assert.ok(older.kind === "skip" && older.notice === undefined && older.record === undefined);
      const below = decide(held, event({ action: "resolve", below: true, updatedAt: T0 + 2_500 }), withSync);
      assert.ok(below.kind === "skip" && below.notice === undefined);
    });

    it("the trigger owed again is asked of Security Hub's echo: Workflow NOTIFIED and a note saying why, not that it paged", async () => {
      const writes: FindingUpdate[] = [];
      const pages = createPageWriteBack({
        write: (update) => {
          writes.push(update);
          return Promise.resolve({ updated: update.findings.length, failed: 0, retryable: false });
        },
        clock: systemClock,
        log: silentLogger,
      });
      pages.add(routedTrigger(findingOf("electriceye-s3-public-bucket-policy.json")), "Security", {
        pageAgain: T0 + 1_000,
      });
      await pages.flush(Date.now() + 5_000);
      assert.equal(writes.length, 1);
      assert.equal(writes[0]?.workflow, "NOTIFIED");
      assert.match(writes[0]?.note ?? "", /^Paging on-call again .* passed at 2026-03-02T10:00:01\.000Z/);
    });

    it("a person's resolution of another incident of the finding keeps the alert's own incident recorded", () => {
      const open = state({
        incident: { id: "Q2" },
        openedAt: T0,
        openedFrom: T0,
        passedAt: T0 + 2 * HOUR,
        updatedAt: T0 + 3 * HOUR,
        sentAt: T0 + 3 * HOUR,
      });
      const resolved = webhook("incident.resolved", open, T0 + HOUR, "Q1");
      assert.ok(resolved.kind === "apply" && resolved.next !== undefined);
      assert.equal(resolved.next.incident?.id, "Q2");
      assert.equal(webhook("incident.acknowledged", resolved.next, T0 + 4 * HOUR, "Q2").kind, "apply");
    });

    it("a responder reopening an incident whose finding the stack has closed since leaves its resolve owed", () => {
      const closed = state({
        incident: { id: "Q1" },
        openedAt: T0,
        status: "resolved",
        closedBy: "finding",
        sentAt: T0 + 1_000,
      });
      const reopened = webhook("incident.reopened", closed, T0 + 2_000);
      assert.ok(reopened.kind === "apply" && reopened.next?.status === "resolved");
      assert.equal(reopened.next.sentAt, undefined);
      const echo = decide(reopened.next, event({ action: "resolve", passed: true, triaged: true }), OPTIONS);
      assert.ok(echo.kind === "send" && echo.change === "retry" && echo.next.status === "resolved");
    });

    it("the stack's RESOLVED of a responder's resolution, landed on a failure after a pass, leaves that failure to page", () => {
      // Paged at T0, passed at +1 s, the responder resolved at +2 s without the stack knowing of the pass (it held
      // the failure), failing again at +3 s. The RESOLVED written for the resolution landed on the +3 s import, and
      // its echo came before that import's own event.
      const passed = state({
        incident: { id: "Q1" },
        openedAt: T0,
        status: "resolved",
        closedBy: "finding",
        updatedAt: T0 + 1_000,
        heldBefore: T0 + 2_000,
        responderAt: T0 + 2_000,
      });
      const failing = { updatedAt: T0 + 3_000 };
      const echo = decide(
        passed,
        event({ action: "resolve", triaged: true, stackNoted: true, ...failing }),
        OPTIONS,
      );
      assert.ok(echo.kind === "skip" && echo.record === undefined, "the echo records nothing");
      assert.equal(outcome(decide(passed, event(failing), OPTIONS)), "send regression");
      // A person's RESOLVED (a note of their own) is the finding's state, and a failure no newer stays closed.
      const person = decide(passed, event({ action: "resolve", triaged: true, ...failing }), OPTIONS);
      assert.ok(person.kind === "skip" && person.record?.updatedAt === T0 + 3_000);
    });

    it("a severity below the filter seen late, before a responder's resolution, opens nothing a person closed in Security Hub since", () => {
      // Paged at T0; MEDIUM at +1 s (delivered late); the responder resolved at +2 s, held (the stack knew only
      // failures); failing at +3 s; a person set RESOLVED in the console at +5 s.
      const held = resolvedQ1({
        closedBy: "responder",
        responderAt: T0 + 2_000,
        updatedAt: T0 + 3_000,
        failedAt: [T0 + 3_000],
      });
      const below = event({ action: "resolve", below: true, updatedAt: T0 + 1_000 });
      const reopens = decide(held, below, OPTIONS);
      assert.ok(reopens.kind === "skip" && reopens.record?.status === "open", "without the person's close");
      const closed = decide(
        held,
        event({ action: "resolve", triaged: true, updatedAt: T0 + 3_000, at: T0 + 5_000 }),
        OPTIONS,
      );
      assert.ok(closed.kind === "skip" && closed.record?.stillFailing === T0 + 5_000);
      assert.equal(closed.record.closedBy, "responder");
      const late = decide(closed.record, below, OPTIONS);
      assert.ok(late.kind === "skip" && late.notice === undefined);
      assert.notEqual(late.record?.status, "open");
      // The echo of the stack's own RESOLVED (the responder's, written to Security Hub) is no person's close.
      const echo = decide(
        held,
        event({ action: "resolve", triaged: true, stackNoted: true, updatedAt: T0 + 3_000, at: T0 + 5_000 }),
        OPTIONS,
      );
      assert.ok(echo.kind === "skip" && echo.record === undefined);
    });

    it("a responder's reopening of an alert whose finding fell below the filter since its resolution leaves the resolve owed", () => {
      // HIGH at T0 (paged), resolved by a responder at +1 s (held), MEDIUM at +2 s, reopened at +3 s.
      const held = resolvedQ1({
        closedBy: "responder",
        responderAt: T0 + 1_000,
      });
      const medium = decide(held, event({ action: "resolve", below: true, updatedAt: T0 + 2_000 }), OPTIONS);
      assert.ok(medium.kind === "skip" && medium.record?.stillFailing === T0 + 2_000);
      const reopened = webhook("incident.reopened", medium.record, T0 + 3_000);
      assert.ok(reopened.kind === "apply" && reopened.next?.status === "resolved");
      assert.equal(reopened.next.closedBy, "finding", "the reopening ended the hold");
      assert.equal(reopened.next.sentAt, undefined);
      const echo = event({ action: "resolve", below: true, updatedAt: T0 + 2_000, stackNoted: true });
      assert.equal(outcome(decide(reopened.next, echo, OPTIONS)), "send retry");
      // Failing within the filter again before the reopening: the reopening opens the alert.
      const high = decide(medium.record, event({ updatedAt: T0 + 2_500 }), OPTIONS);
      assert.ok(high.kind === "skip" && high.skip === "heldByResponder" && high.record !== undefined);
      assert.equal(high.record.stillFailing, undefined);
      const open = webhook("incident.reopened", high.record, T0 + 3_000);
      assert.ok(open.kind === "apply" && open.next?.status === "open");
    });

    it("a person's RESOLVED on a failure newer than the close it followed lets a responder's resolution before it hold the finding", () => {
      // Paged at T0; MEDIUM at +1 s closed the alert; CRITICAL again at +2 s, which a responder resolved at +3 s
      // (its trigger not seen yet) and a person set RESOLVED in the console at +4 s; the console's event comes first.
      const closed = resolvedQ1({
        closedBy: "finding",
        updatedAt: T0 + 1_000,
        stillFailing: T0 + 1_000,
      });
      const person = decide(
        closed,
        event({ action: "resolve", triaged: true, updatedAt: T0 + 2_000, at: T0 + 4_000 }),
        OPTIONS,
      );
      assert.ok(person.kind === "skip" && person.record?.stillFailing === T0 + 4_000);
      const resolution = webhook("incident.resolved", person.record, T0 + 3_000);
      assert.ok(resolution.kind === "apply" && resolution.next?.closedBy === "responder");
      assert.equal(
        outcome(decide(resolution.next, event({ updatedAt: T0 + HOUR }), OPTIONS)),
        "skip heldByResponder",
      );
    });

    it("a scan's re-import that keeps the stack's RESOLVED of a responder's hold is recorded, so a pass from before it owes the trigger", () => {
      // Paged at T0, held by a responder at +5 s; the scanner re-imports the still-failing finding at +8 s, and
      // Security Hub keeps the workflow the stack wrote (RESOLVED, its note last). The pass of +4 s comes last.
      const held = resolvedQ1({
        closedBy: "responder",
        responderAt: T0 + 5_000,
      });
      const reimport = decide(
        held,
        event({ action: "resolve", triaged: true, stackNoted: true, updatedAt: T0 + 8_000, at: T0 + 9_000 }),
        OPTIONS,
      );
      assert.ok(reimport.kind === "skip" && reimport.record?.updatedAt === T0 + 8_000);
      const pass = decide(
        reimport.record,
        event({ action: "resolve", passed: true, updatedAt: T0 + 4_000 }),
        OPTIONS,
      );
      assert.ok(pass.kind === "skip" && pass.record?.status === "open" && pass.record.sentAt === undefined);
      assert.deepEqual(pass.notice, { pageAgain: T0 + 4_000 });
    });

    it("a person's RESOLVED after a responder's resolution, on a failure the stack has not seen yet, keeps that failure closed", () => {
      // Paged at T0, held by a responder at +1 s; passed at +2 s and failing again at +3 s (both delayed); a person
      // set RESOLVED in the console at +4 s, and that event comes first. Security Hub holds the +3 s failure closed.
      const held = resolvedQ1({
        closedBy: "responder",
        responderAt: T0 + 1_000,
      });
      const person = decide(
        held,
        event({ action: "resolve", triaged: true, updatedAt: T0 + 3_000, at: T0 + 4_000 }),
        OPTIONS,
      );
      assert.ok(person.kind === "skip" && person.record?.stillFailing === T0 + 4_000);
      assert.equal(person.record.closedBy, "responder");
      // The failure's own event, delivered after, shows what came before the person's close.
      const failure = decide(person.record, event({ updatedAt: T0 + 3_000 }), OPTIONS);
      assert.equal(outcome(failure), "skip stale");
      const after = failure.kind === "skip" ? (failure.record ?? person.record) : person.record;
      assert.equal(after.stillFailing, T0 + 4_000, "the person's close is still remembered");
      // The pass, seen last, opens nothing over the person's close.
      const pass = decide(after, event({ action: "resolve", passed: true, updatedAt: T0 + 2_000 }), OPTIONS);
      assert.ok(pass.kind === "skip" && pass.notice === undefined);
      assert.notEqual(pass.record?.status, "open");
      // Nor does a responder's reopening: the resolve is owed.
      const reopened = webhook("incident.reopened", after, T0 + 5_000);
      assert.ok(reopened.kind === "apply" && reopened.next?.status === "resolved");
      assert.equal(reopened.workflow, undefined);
    });

    it("a responder's reopening of an older incident whose resolution held the alert opens nothing Security Hub shows closed since", () => {
      // Failing at T0 + 3 (incident Q2 opened for it at +10 s); Q1 resolved by a responder at +4 (delivered late, it
      // holds the alert), MEDIUM at +20 s, and Q1's reopening at +5, delivered last.
      const open = state({
        incident: { id: "Q2" },
        openedAt: T0 + 10_000,
        openedFrom: T0 + 3,
        sentAt: T0 + 10_000,
      });
      const held = webhook("incident.resolved", open, T0 + 4, "Q1");
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      const below = decide(
        held.next,
        event({ action: "resolve", below: true, updatedAt: T0 + 20_000 }),
        OPTIONS,
      );
      assert.ok(below.kind === "send" && below.next.stillFailing === T0 + 20_000);
      const sent = { ...below.next, sentAt: T0 + 20_500 };
      const reopened = webhook("incident.reopened", sent, T0 + 5, "Q1");
      assert.ok(reopened.kind === "apply" && reopened.next?.status === "resolved");
      assert.equal(reopened.next.closedBy, "finding", "the reopening ended the hold");
      assert.equal(
        reopened.next.sentAt,
        undefined,
        "PagerDuty holds the reopened incident open: the resolve is owed",
      );
      assert.equal(reopened.workflow, undefined);
    });

    it("a person's RESOLVED with no note of their own, on a failure after a pass no responder acted on, keeps that failure closed", () => {
      // Paged at T0, passed at +1 s (resolved); failing again at +3 s (its event delayed); a person set RESOLVED in
      // the console at +4 s without a note (the stack's note of the page stays last), and that event comes first.
      // No responder acted: there is no RESOLVED of the stack's it could be the echo of.
      const passed = resolvedQ1({
        closedBy: "finding",
        updatedAt: T0 + 1_000,
      });
      const person = decide(
        passed,
        event({ action: "resolve", triaged: true, stackNoted: true, updatedAt: T0 + 3_000, at: T0 + 5_000 }),
        OPTIONS,
      );
      assert.ok(person.kind === "skip" && person.record?.updatedAt === T0 + 3_000);
      assert.equal(outcome(decide(person.record, event({ updatedAt: T0 + 3_000 }), OPTIONS)), "skip stale");
    });

    it("a person's RESOLVED after a responder's resolution, while a resolve is owed, is remembered with the resolve it sends", () => {
      // Paged at T0, held by a responder at +1 s; failing at +3 s (held), and a trigger reached PagerDuty past the
      // hold: the resolve is owed. A person set RESOLVED in the console at +4 s; the pass of +2 s comes last.
      const owed = state({
        incident: { id: "Q2" },
        openedAt: T0,
        openedFrom: T0,
        status: "resolved",
        closedBy: "responder",
        responderAt: T0 + 1_000,
        updatedAt: T0 + 3_000,
      });
      delete owed.sentAt;
      const person = decide(
        owed,
        event({ action: "resolve", triaged: true, updatedAt: T0 + 3_000, at: T0 + 4_000 }),
        OPTIONS,
      );
      assert.ok(person.kind === "send" && person.change === "retry");
      assert.equal(person.next.stillFailing, T0 + 4_000, "the person's close is remembered");
      const sent = { ...person.next, sentAt: T0 + HOUR };
      const pass = decide(sent, event({ action: "resolve", passed: true, updatedAt: T0 + 2_000 }), OPTIONS);
      assert.ok(pass.kind === "skip" && pass.notice === undefined);
      assert.notEqual(pass.record?.status, "open");
    });

    it("a failure a responder's resolution holds, after a severity below the filter before it, opens again when the responder reopens", () => {
      // Paged at T0; MEDIUM at +1 s closed the alert; HIGH again at +2 s (its event delayed); a responder resolved
      // at +3 s, before the stack's resolve reached PagerDuty; the HIGH failure's event; reopened at +4 s.
      const open = openQ1({});
      const below = decide(open, event({ action: "resolve", below: true, updatedAt: T0 + 1_000 }), OPTIONS);
      assert.ok(below.kind === "send" && below.next.stillFailing === T0 + 1_000);
      const resolution = webhook("incident.resolved", { ...below.next, sentAt: T0 + 3_500 }, T0 + 3_000);
      assert.ok(resolution.kind === "apply" && resolution.next?.heldBefore === T0 + 3_000);
      const high = decide(resolution.next, event({ updatedAt: T0 + 2_000 }), OPTIONS);
      assert.ok(high.kind === "skip" && high.skip === "heldByResponder" && high.record !== undefined);
      const reopened = webhook("incident.reopened", high.record, T0 + 4_000);
      assert.ok(
        reopened.kind === "apply" && reopened.next?.status === "open",
        "the HIGH finding pages again",
      );
      assert.equal(reopened.workflow, "NOTIFIED");
    });

    it("a responder's resolution that crossed a close in Security Hub, then reopened, leaves the resolve owed", () => {
      // Paged at T0; a responder resolved at +1 s; MEDIUM at +2 s (or a person's RESOLVED in the console at +2 s),
      // whose resolve the stack sent before the resolution's webhook came; the responder reopened at +3 s.
      const open = openQ1({});
      const closes = [
        event({ action: "resolve", below: true, updatedAt: T0 + 2_000 }),
        event({ action: "resolve", triaged: true, at: T0 + 2_000 }),
      ];
      for (const close of closes) {
        const resolve = decide(open, close, OPTIONS);
        assert.ok(resolve.kind === "send" && resolve.change === "resolve");
        const closed = { ...resolve.next, sentAt: T0 + 2_500 };
        const held = webhook("incident.resolved", closed, T0 + 1_000);
        assert.ok(held.kind === "apply" && held.next?.closedBy === "responder", "the resolution holds it");
        const reopened = webhook("incident.reopened", held.next, T0 + 3_000);
        assert.ok(reopened.kind === "apply" && reopened.next !== undefined);
        assert.equal(reopened.next.status, "resolved", "Security Hub shows the finding closed");
        assert.equal(reopened.next.sentAt, undefined, "PagerDuty holds it open: the resolve is owed");
        assert.equal(reopened.workflow, undefined, "the close in Security Hub is not overwritten");
      }
    });

    it("a trigger accepted in the same millisecond as a responder's resolution may have opened a new incident: the resolve is owed", () => {
      const open = openQ1({ sentAt: T0 + 1_000 });
      const tie = webhook("incident.resolved", open, T0 + 1_000);
      assert.ok(tie.kind === "apply" && tie.next?.status === "resolved" && tie.next.sentAt === undefined);
      const before = webhook("incident.resolved", open, T0 + 1_001);
      assert.ok(before.kind === "apply" && before.next?.sentAt === T0 + 1_000);
    });

    it("a console close seen only after a newer failure is remembered: a responder's resolution after it holds nothing, in either order", () => {
      // Paged at T0; a person closed the finding in the console at +2 s (Security Hub keeps UpdatedAt T0, and the
      // person's note dates the change); a responder resolved at +3 s; CRITICAL imported at +4 s, whose update
      // PagerDuty accepted at +5 s, opening a new incident. The console's event arrives after the CRITICAL one.
      const open = openQ1({ updatedAt: T0 + 4_000, failedAt: [T0 + 4_000], sentAt: T0 + 5_000 });
      const closes = [
        event({ action: "resolve", passed: true, triaged: true, at: T0 + 2_000 }),
        event({ action: "resolve", triaged: true, at: T0 + 2_000 }),
      ];
      for (const close of closes) {
        const what = close.passed ? "SUPPRESSED" : "RESOLVED";
        const late = decide(open, close, OPTIONS);
        assert.ok(late.kind === "skip" && late.skip === "stale" && late.record !== undefined, what);
        const resolution = webhook("incident.resolved", late.record, T0 + 3_000);
        assert.ok(
          resolution.kind === "apply" && resolution.next?.status === "open",
          `${what}: holds nothing`,
        );
        assert.equal(resolution.next.sentAt, T0 + 5_000, `${what}: the CRITICAL's incident stays open`);
        // Its note is the new incident's page in Security Hub (an echo of it must not pass for a write-back's), and
        // a person's close since is not overwritten.
        assert.equal(resolution.workflow, undefined);
        assert.match(resolution.note, /^Paged on-call again/);
        assert.equal(resolution.next.writeBack, undefined);

        // The webhook first: the resolution held the alert and the CRITICAL's incident was owed its resolve; the
        // console's event then shows the hold held nothing, and the trigger is owed again instead.
        const held = webhook("incident.resolved", open, T0 + 3_000);
        assert.ok(
          held.kind === "apply" && held.next?.closedBy === "responder" && held.next.sentAt === undefined,
        );
        const unheld = decide(held.next, close, OPTIONS);
        assert.ok(unheld.kind === "skip" && unheld.record?.status === "open", `${what}: open again`);
        assert.equal(unheld.record.sentAt, undefined, `${what}: the trigger is owed`);
        assert.deepEqual(unheld.notice, { pageAgain: T0 + 2_000 });
      }
      // A person's RESOLVED after the resolution: the resolution resolved a failing finding, and holds it.
      const after = decide(open, closes[1] as AlertEvent, OPTIONS);
      assert.ok(after.kind === "skip" && after.record !== undefined);
      const before = webhook("incident.resolved", after.record, T0 + 1_000);
      assert.ok(before.kind === "apply" && before.next?.closedBy === "responder");
      // A close on an import older than the one that opened the alert says nothing of it.
      const older = decide({ ...open, openedFrom: T0 + 1_000 }, closes[0] as AlertEvent, OPTIONS);
      assert.ok(older.kind === "skip" && older.record === undefined);
    });

    it("a console RESOLVED on an import the record has not seen yet is dated by its note, not that import: a responder's resolution between the two holds, in either order", () => {
      // Paged at T0; CRITICAL imported at +1 s (its event delayed); a responder resolved at +2 s (the finding failing);
      // a person set RESOLVED in the console at +3 s (Security Hub keeps UpdatedAt +1 s, the note dates it); the
      // page's NOTIFIED landed over it, and HIGH imported at +4 s, whose update PagerDuty accepted at +5 s, opening
      // a new incident. The console's event arrives after the HIGH one.
      const open = openQ1({ updatedAt: T0 + 4_000, failedAt: [T0 + 4_000], sentAt: T0 + 5_000 });
      const close = event({ action: "resolve", triaged: true, updatedAt: T0 + 1_000, at: T0 + 3_000 });
      const late = decide(open, close, OPTIONS);
      assert.ok(late.kind === "skip" && late.record !== undefined);
      const resolution = webhook("incident.resolved", late.record, T0 + 2_000);
      assert.ok(
        resolution.kind === "apply" && resolution.next?.closedBy === "responder",
        "the resolution found the finding failing, and holds it",
      );
      assert.equal(resolution.next.sentAt, undefined, "the new incident's resolve is owed");
      // The webhook first: the console's event, seen after the hold, does not end it.
      const held = webhook("incident.resolved", open, T0 + 2_000);
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      const after = decide(held.next, close, OPTIONS);
      assert.ok(
        after.kind === "send" && after.next.status === "resolved",
        "the new incident's resolve is sent, no trigger owed again",
      );
      // A console RESOLVED on an import from before the alert opened, dated by EventBridge's second only (no note
      // of the person's), came before that import too: it says nothing of the alert.
      const before = decide(
        { ...open, openedFrom: T0 + 1_500 },
        event({ action: "resolve", triaged: true, updatedAt: T0 + 1_000, at: T0 + 2_000 }),
        OPTIONS,
      );
      assert.ok(before.kind === "skip" && before.record === undefined);
    });

    it("a close before a responder's resolution, seen after a newer import that still shows the stack's RESOLVED, opens nothing: nothing fails since", () => {
      // Paged at T0; a person set RESOLVED in the console at +1 s (or MEDIUM imported at +1 s); a responder resolved
      // at +2 s, held (the stack had not seen the close), and the stack wrote RESOLVED; HIGH imported at +4 s, with
      // the workflow Security Hub keeps (RESOLVED, the stack's note). The close's event arrives last.
      const held = webhook("incident.resolved", openQ1({}), T0 + 2_000);
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      const kept = decide(
        held.next,
        event({ action: "resolve", triaged: true, stackNoted: true, updatedAt: T0 + 4_000, at: T0 + 5_000 }),
        OPTIONS,
      );
      assert.ok(kept.kind === "skip" && kept.record?.updatedAt === T0 + 4_000);
      const closes = [
        event({ action: "resolve", triaged: true, at: T0 + 1_000 }),
        event({ action: "resolve", below: true, updatedAt: T0 + 1_000 }),
      ];
      for (const close of closes) {
        const what = close.below === true ? "MEDIUM" : "RESOLVED";
        const late = decide(kept.record, close, OPTIONS);
        assert.ok(late.kind === "skip" && late.notice === undefined, `${what}: no trigger is owed`);
        assert.notEqual(late.record?.status, "open", `${what}: Security Hub shows the finding closed`);
      }
      // The HIGH failing (its workflow NOTIFIED, written over the close): seen after the hold, it is kept with it,
      // and the close seen late owes the trigger again.
      const failing = decide(held.next, event({ fingerprint: "f2", updatedAt: T0 + 4_000 }), OPTIONS);
      assert.ok(failing.kind !== "wait" && failing.kind === "skip" && failing.record !== undefined);
      for (const close of closes) {
        const late = decide(failing.record, close, OPTIONS);
        assert.ok(late.kind === "skip" && late.record?.status === "open" && late.record.sentAt === undefined);
        assert.deepEqual(late.notice, { pageAgain: T0 + 1_000 });
      }
    });

    it("a close or a pass before a failure a responder then resolved, seen after the hold and a newer failure, leaves the hold (seed 120)", () => {
      // Paged at T0; MEDIUM at +1 s (or a person's RESOLVED in the console at +1 s, the page's NOTIFIED landing over
      // it, or archived at +1 s), delivered late; CRITICAL at +2 s; a responder resolved at +3 s, the finding
      // failing: held; HIGH at +4 s, held. The close arrives last.
      const open = openQ1({ updatedAt: T0 + 2_000, failedAt: [T0 + 2_000], fingerprints: { asff: "f2" } });
      const held = webhook("incident.resolved", open, T0 + 3_000);
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      const high = decide(held.next, event({ fingerprint: "f3", updatedAt: T0 + 4_000 }), OPTIONS);
      assert.ok(high.kind === "skip" && high.skip === "heldByResponder" && high.record !== undefined);
      const archived = event({ action: "resolve", passed: true, updatedAt: T0 + 1_000 });
      const closes = [
        event({ action: "resolve", below: true, updatedAt: T0 + 1_000 }),
        event({ action: "resolve", triaged: true, at: T0 + 1_000 }),
        archived,
      ];
      for (const close of closes) {
        const what = close.below === true ? "MEDIUM" : close.passed ? "archived" : "RESOLVED";
        const late = decide(high.record, close, OPTIONS);
        assert.ok(late.kind === "skip" && late.notice === undefined, `${what}: no trigger is owed`);
        assert.notEqual(late.record?.status, "open", `${what}: the resolution holds the CRITICAL`);
        // Seen before the resolution, the close is weighed the same way.
        const first = decide(open, close, OPTIONS);
        assert.ok(first.kind === "skip");
        const resolution = webhook("incident.resolved", first.record ?? open, T0 + 3_000);
        assert.ok(resolution.kind === "apply" && resolution.next?.closedBy === "responder", what);
      }
      // With no failure known between the archive and the resolution, the resolution held nothing, as before.
      const unknown = decide({ ...high.record, failedAt: [T0 + 4_000] }, archived, OPTIONS);
      assert.ok(unknown.kind === "skip" && unknown.record?.status === "open");
      assert.deepEqual(unknown.notice, { pageAgain: T0 + 1_000 });
    });

    it("after a close seen late owed the trigger again, a responder's resolution of the new incident while the finding fails holds it", () => {
      // Paged at T0; passed at +1 s (or a person's RESOLVED in the console at +1 s, the page's NOTIFIED landing over
      // it), delivered late; a responder resolved at +2 s, held; CRITICAL at +3 s; the close's event owed the trigger
      // again, whose echo sent it (PagerDuty accepted it at +5 s, in a new incident Q2). A responder resolved Q2 at
      // +6 s, the finding failing; HIGH at +7 s, seen before that webhook: its update opened a third incident at +8 s.
      const held = webhook("incident.resolved", openQ1({}), T0 + 2_000);
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      const critical = decide(held.next, event({ fingerprint: "f2", updatedAt: T0 + 3_000 }), OPTIONS);
      assert.ok(critical.kind === "skip" && critical.record !== undefined);
      const closes = [
        event({ action: "resolve", passed: true, updatedAt: T0 + 1_000 }),
        event({ action: "resolve", triaged: true, at: T0 + 1_000 }),
      ];
      for (const close of closes) {
        const what = close.passed ? "pass" : "RESOLVED";
        const late = decide(critical.record, close, OPTIONS);
        assert.ok(
          late.kind === "skip" && late.record?.status === "open" && late.record.sentAt === undefined,
          what,
        );
        const echo = decide(
          late.record,
          event({ fingerprint: "f2", updatedAt: T0 + 3_000, stackNoted: true, triaged: true }),
          OPTIONS,
        );
        assert.ok(echo.kind === "send" && echo.change === "retry", what);
        const paged = { ...echo.next, incident: { id: "Q2" }, sentAt: T0 + 5_000 };
        const high = decide(paged, event({ fingerprint: "f3", updatedAt: T0 + 7_000 }), OPTIONS);
        assert.ok(high.kind === "send" && high.change === "update", what);
        const resolution = webhook(
          "incident.resolved",
          { ...high.next, sentAt: T0 + 8_000 },
          T0 + 6_000,
          "Q2",
        );
        assert.ok(
          resolution.kind === "apply" && resolution.next?.closedBy === "responder",
          `${what}: the CRITICAL, failing since the close, is what the responder resolved`,
        );
        assert.equal(resolution.next.sentAt, undefined, `${what}: the third incident's resolve is owed`);
      }
    });

    it("a failure between a pass and a responder's resolution that crossed its resolve, seen after a later failure paged, closes the new alert as held (seed 110)", () => {
      // Paged at T0; passed at +1 s, whose resolve the stack sent; CRITICAL at +2 s (delivered late); a responder
      // resolved at +3 s, before that resolve reached PagerDuty; CRITICAL again at +4 s, seen first: no failure between
      // the pass and the resolution was known, and it paged a new incident. The +2 s failure arrives last.
      const closed = resolvedQ1({
        closedBy: "finding",
        updatedAt: T0 + 1_000,
        heldBefore: T0 + 3_000,
        responderAt: T0 + 3_000,
        sentAt: T0 + 3_500,
      });
      const later = decide(closed, event({ fingerprint: "f2", updatedAt: T0 + 4_000 }), OPTIONS);
      assert.ok(later.kind === "send" && later.change === "regression");
      const opened = { ...later.next, incident: { id: "Q2" }, sentAt: T0 + 10_000 };
      const between = decide(opened, event({ fingerprint: "f2", updatedAt: T0 + 2_000 }), OPTIONS);
      assert.ok(
        between.kind === "send" && between.next.status === "resolved",
        "the responder resolved a failing finding: the new incident is resolved",
      );
      assert.equal(between.next.closedBy, "responder");
      assert.equal(
        outcome(decide({ ...between.next, sentAt: T0 + 11_000 }, event({ updatedAt: T0 + 5_000 }), OPTIONS)),
        "skip heldByResponder",
      );
      // A failure from before the pass says nothing of the resolution.
      assert.equal(
        outcome(decide(opened, event({ fingerprint: "f2", updatedAt: T0 + 500 }), OPTIONS)),
        "skip stale",
      );
    });

    // npm run check:lifecycle -- --seed=120 --path 4216:4:7:14:17:17:21:16:18:6:16:23:19:23:27:30:15:27:25:25:25:22
    // --only outOfOrder,console,responder,webhooks,webhookRetries,securityHubThrottling (it failed before fcf0ae2 too).
    it("a responder's resolution delivered after a later failure paged, the finding failing when it was made, holds the new alert (seed 120)", () => {
      // Paged at T0; archived at +1 s, its resolve sent; CRITICAL at +2 s; a responder resolved at +3 s (the
      // finding failing), its webhook's first attempt failing; CRITICAL again at +4 s paged a new alert. The +2 s
      // failure's event, then the resolution's retry, arrive last.
      const closed = resolvedQ1({ closedBy: "finding", updatedAt: T0 + 1_000, sentAt: T0 + 1_500 });
      const later = decide(closed, event({ fingerprint: "f2", updatedAt: T0 + 4_000 }), OPTIONS);
      assert.ok(later.kind === "send" && later.change === "regression");
      const opened = { ...later.next, sentAt: OPTIONS.now };
      const between = decide(opened, event({ fingerprint: "f2", updatedAt: T0 + 2_000 }), OPTIONS);
      const known = between.kind === "skip" && between.record !== undefined ? between.record : opened;
      const resolution = webhook("incident.resolved", known, T0 + 3_000);
      assert.ok(
        resolution.kind === "apply" && resolution.next?.closedBy === "responder",
        "the responder resolved the +2 s failure, which the +4 s one continues",
      );
      assert.equal(resolution.next.sentAt, undefined, "the new alert's resolve is owed");

      // The retry first: nothing is known to have failed between the pass and the resolution yet, and the new alert
      // stays open; the +2 s failure, when it comes, closes it as held.
      const early = webhook("incident.resolved", opened, T0 + 3_000);
      assert.ok(
        early.kind === "apply" && early.next?.status === "open" && early.next.heldBefore === T0 + 3_000,
      );
      const failure = decide(early.next, event({ fingerprint: "f2", updatedAt: T0 + 2_000 }), OPTIONS);
      assert.ok(
        failure.kind === "send" &&
          failure.next.status === "resolved" &&
          failure.next.closedBy === "responder",
      );
      // With no failure in between, the new alert stays open: a later one, or an earlier one, is no hold.
      assert.equal(
        outcome(decide(early.next, event({ fingerprint: "f2", updatedAt: T0 + 3_500 }), OPTIONS)),
        "skip stale",
      );
    });

    it("a responder's resolution delivered after a later failure paged, the alert before closed by a person's RESOLVED, holds the new alert when the finding failed in between (seed 120)", () => {
      // Paged at T0; a person set RESOLVED at +1 s, its resolve sent; CRITICAL at +2 s (the page's NOTIFIED had
      // landed over the RESOLVED); a responder resolved at +3 s; HIGH at +4 s paged a new alert. The +2 s failure,
      // then the resolution's retry, arrive last.
      const closed = resolvedQ1({ closedBy: "finding", stillFailing: T0 + 1_000, sentAt: T0 + 1_500 });
      const later = decide(closed, event({ fingerprint: "f2", updatedAt: T0 + 4_000 }), OPTIONS);
      assert.ok(later.kind === "send" && later.change === "regression");
      assert.equal(later.next.heldAfter, T0 + 1_000, "the person's close, not the import it was made on");
      const opened = { ...later.next, sentAt: OPTIONS.now };
      const between = decide(opened, event({ fingerprint: "f2", updatedAt: T0 + 2_000 }), OPTIONS);
      assert.ok(between.kind === "skip" && between.record !== undefined);
      const resolution = webhook("incident.resolved", between.record, T0 + 3_000);
      assert.ok(resolution.kind === "apply" && resolution.next?.closedBy === "responder");
    });

    it("a failure between a close in Security Hub and a responder's resolution, seen after both, is held (seed 207)", () => {
      // Paged at T0; MEDIUM at +1 s (or a person's RESOLVED at +1 s); CRITICAL at +400 s; a responder resolved at
      // +401 s, the finding failing. The resolution's webhook came first, then the close, then the CRITICAL.
      const held = webhook("incident.resolved", openQ1({}), T0 + 401_000);
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      for (const close of [
        event({ action: "resolve", below: true, updatedAt: T0 + 1_000 }),
        event({ action: "resolve", triaged: true, at: T0 + 1_000 }),
      ]) {
        const unheld = decide(held.next, close, OPTIONS);
        assert.ok(unheld.kind === "skip" && unheld.record?.closedBy === "finding");
        const critical = decide(
          unheld.record,
          event({ fingerprint: "f2", updatedAt: T0 + 400_000 }),
          OPTIONS,
        );
        assert.equal(outcome(critical), "skip heldByResponder", "the responder resolved the CRITICAL");
        const later = decide(unheld.record, event({ fingerprint: "f2", updatedAt: T0 + 402_000 }), OPTIONS);
        assert.equal(outcome(later), "send regression", "a failure after the resolution pages");
      }
    });

    it("a failure between a console close and a responder's resolution, seen after the close owed the trigger again, closes the alert as held (seed 120)", () => {
      // Paged at T0; a person set SUPPRESSED at +1 s (on the T0 import; the page's NOTIFIED landed over it); CRITICAL
      // at +4 s; a responder resolved at +5 s, the finding failing; HIGH at +6 s, held. The SUPPRESSED arrives
      // before the +4 s failure: it owes the trigger again, no failure known between it and the resolution.
      const open = openQ1({});
      const held = webhook("incident.resolved", open, T0 + 5_000);
      assert.ok(held.kind === "apply" && held.next?.closedBy === "responder");
      const high = decide(held.next, event({ fingerprint: "f3", updatedAt: T0 + 6_000 }), OPTIONS);
      assert.ok(high.kind === "skip" && high.skip === "heldByResponder" && high.record !== undefined);
      const suppressed = event({ action: "resolve", passed: true, triaged: true, at: T0 + 1_000 });
      const owed = decide(high.record, suppressed, OPTIONS);
      assert.ok(owed.kind === "skip" && owed.record?.status === "open" && owed.notice !== undefined);
      const critical = decide(owed.record, event({ fingerprint: "f2", updatedAt: T0 + 4_000 }), OPTIONS);
      assert.ok(
        critical.kind === "send" &&
          critical.next.status === "resolved" &&
          critical.next.closedBy === "responder",
        "the responder resolved the +4 s failure: the hold stands",
      );
      // Seen before the SUPPRESSED, the +4 s failure is kept with the hold, and the SUPPRESSED owes nothing.
      const first = decide(high.record, event({ fingerprint: "f2", updatedAt: T0 + 4_000 }), OPTIONS);
      assert.ok(first.kind === "skip" && first.record?.failedAt?.includes(T0 + 4_000) === true);
      const late = decide(first.record, suppressed, OPTIONS);
      assert.ok(late.kind === "skip" && late.notice === undefined && late.record?.status !== "open");
    });

    it("a console SUPPRESSED seen before the import it was made on is after that failure: a later resolution holds nothing (seed 122)", () => {
      // Paged at T0; CRITICAL at +1 s (delivered late); a person set SUPPRESSED in the console at +2 s, on that import
      // (the page's NOTIFIED landed over it); a responder resolved at +60 s; HIGH at +61 s, its update opening a
      // new incident. The SUPPRESSED, then the +1 s failure, arrive after the HIGH; the resolution's webhook last.
      const open = openQ1({
        updatedAt: T0 + 61_000,
        failedAt: [T0 + 61_000],
        fingerprints: { asff: "f2" },
        sentAt: T0 + 61_500,
      });
      const suppressed = decide(
        open,
        event({ action: "resolve", passed: true, triaged: true, updatedAt: T0 + 1_000, at: T0 + 2_000 }),
        OPTIONS,
      );
      assert.ok(suppressed.kind === "skip" && suppressed.record !== undefined);
      const failure = decide(suppressed.record, event({ updatedAt: T0 + 1_000 }), OPTIONS);
      assert.ok(
        failure.kind === "skip" &&
          failure.record !== undefined &&
          failure.record.failedAt?.includes(T0 + 1_000) === true,
      );
      const resolution = webhook("incident.resolved", failure.record, T0 + 60_000);
      assert.ok(
        resolution.kind === "apply" && resolution.next?.status === "open",
        "the finding was suppressed when the responder resolved: the HIGH's incident stays open",
      );
    });

    it("an incident opened after a responder's resolution of the alert's incident leaves its resolve owed", () => {
      const held = state({ incident: { id: "Q1" }, openedAt: T0, status: "resolved", closedBy: "responder" });
      const second = webhook("incident.triggered", held, T0 + 2_000, "Q2");
      assert.ok(second.kind === "apply" && second.next?.incident?.id === "Q2");
      assert.equal(second.next.sentAt, undefined);
      const next = decide(second.next, event({ action: "resolve", triaged: true }), OPTIONS);
      assert.ok(next.kind === "send" && next.change === "retry" && next.next.status === "resolved");
    });
  });

  it("a trigger handed back before any request left leaves the record as PagerDuty holds it: its finding's pass then sends nothing", async () => {
    const store = createMemoryAlertStore();
    const tracker = memoryTracker(store, T0);
    const trigger = await tracker.plan(event(), T0 + 60_000);
    assert.ok(trigger.kind === "send" && trigger.change === "new");
    await trigger.release(false);
    const pass = await tracker.plan(
      event({ action: "resolve", passed: true, updatedAt: T0 + 1 }),
      T0 + 60_000,
    );
    assert.equal(pass.kind === "skip" && pass.skip, "nothingToResolve");
    // An update handed back leaves the alert open, as PagerDuty still holds it.
    const again = await tracker.plan(event({ updatedAt: T0 + 2 }), T0 + 60_000);
    assert.ok(again.kind === "send" && again.change === "new");
    await again.confirm("trigger");
    const update = await tracker.plan(event({ updatedAt: T0 + 3, fingerprint: "f2" }), T0 + 60_000);
    assert.ok(update.kind === "send" && update.change === "update");
    await update.release(false);
    const fixed = await tracker.plan(
      event({ action: "resolve", passed: true, updatedAt: T0 + 4 }),
      T0 + 60_000,
    );
    assert.ok(fixed.kind === "send" && fixed.change === "resolve");
  });

  it("a trigger owed while a resolve was in flight stays owed once the resolve is confirmed", async () => {
    // Held by a responder since +2 s, failing again at +3 s; the resolve is owed (a trigger opened a new incident
    // past the hold). While it is sent, the pass at +1 s arrives: the finding was not failing when the responder
    // resolved, and the trigger is owed instead.
    const store = createMemoryAlertStore();
    const held = state({
      status: "resolved",
      closedBy: "responder",
      openedFrom: T0,
      responderAt: T0 + 2_000,
      updatedAt: T0 + 3_000,
      incident: { id: "Q2" },
    });
    delete held.sentAt;
    await store.put(held, undefined, T0);
    const tracker = memoryTracker(store, T0 + HOUR);
    const owed = await tracker.plan(event({ updatedAt: T0 + 3_000 }), T0 + HOUR + 60_000);
    assert.ok(owed.kind === "send" && owed.action === "resolve");
    const pass = await tracker.plan(
      event({ action: "resolve", passed: true, updatedAt: T0 + 1_000 }),
      T0 + HOUR + 60_000,
    );
    assert.ok(pass.kind === "skip" && pass.notice !== undefined && "pageAgain" in pass.notice);
    assert.equal(pass.notice.pageAgain, T0 + 1_000);
    await owed.confirm("resolve");
    const after = await store.get(held.dedupKey);
    assert.equal(after?.status, "open");
    assert.equal(after?.sentAt, undefined, "PagerDuty holds the alert resolved: the trigger is still owed");
    const echo = await tracker.plan(event({ updatedAt: T0 + 3_000 }), T0 + HOUR + 60_000);
    assert.ok(echo.kind === "send" && echo.action === "trigger" && echo.change === "retry");
  });

  it("a finding whose state other invocations keep changing is decided again shortly, not sent blind", async () => {
    const store = createMemoryAlertStore();
    await store.put(state(), undefined, T0);
    const contended = { ...store, put: () => Promise.resolve(false) };
    const tracker = memoryTracker(contended, T0 + HOUR);
    const plan = await tracker.plan(
      event({ action: "resolve", passed: true, updatedAt: T0 + 1 }),
      T0 + 2 * HOUR,
    );
    assert.ok(plan.kind === "wait", plan.kind);
    assert.ok(plan.until > T0 + HOUR && plan.until <= T0 + HOUR + 5_000);
  });

  it("a responder's resolution written while a claim was held survives the claim's release without a request", async () => {
    const store = createMemoryAlertStore();
    await store.put(state({ incident: { id: "Q1" }, openedAt: T0, openedFrom: T0 }), undefined, T0);
    const now = T0 + HOUR;
    const tracker = memoryTracker(store, now);
    const update = await tracker.plan(event({ updatedAt: T0 + HOUR, fingerprint: "f2" }), now + 60_000);
    assert.ok(update.kind === "send" && update.change === "update");
    const claimed = await store.get("securityhub-abc");
    assert.ok(claimed !== undefined);
    const resolution = effectOf(
      {
        id: "W1",
        type: "incident.resolved",
        occurredAt: now + 1_000,
        agent: { person: true, name: "Ada" },
        incident: { id: "Q1" },
      },
      claimed,
    );
    assert.ok(resolution.kind === "apply" && resolution.next !== undefined);
    assert.ok(await store.put(resolution.next, claimed.version, now));
    await update.release(false);
    const after = await store.get("securityhub-abc");
    assert.equal(after?.status, "resolved");
    assert.equal(after?.closedBy, "responder");
    const next = await tracker.plan(event({ updatedAt: T0 + 2 * HOUR, fingerprint: "f3" }), now + 60_000);
    // No trigger: the claim left no request, and the hold's resolve is what the record owes PagerDuty.
    assert.ok(next.kind === "send" && next.action === "resolve", "held: no trigger goes out");
  });

  it("a person's page is sent even when the state holds the alert open (PagerDuty deduplicates)", () => {
    assert.equal(
      outcome(decide(state(), event({ manual: true, updatedAt: T0 + HOUR }), OPTIONS)),
      "send update",
    );
    assert.equal(
      outcome(decide(state(), event({ manual: true, updatedAt: T0 - HOUR }), OPTIONS)),
      "send update",
    );
  });

  it("an untracked resolve handed back is sent again at its redelivery, not skipped as never paged", () => {
    const untracked = decide(undefined, event({ action: "resolve" }), { ...OPTIONS, resolveUntracked: true });
    assert.ok(untracked.kind === "send");
    const claimed = { ...untracked.next, sentAt: undefined };
    assert.equal(
      outcome(decide(claimed, event({ action: "resolve" }), { ...OPTIONS, resolveUntracked: true })),
      "send retry",
    );
  });

  it("a resolve that may not have landed is sent again for any later event of the finding, even an older trigger", () => {
    const owed = state({ status: "resolved", closedBy: "finding", sentAt: undefined, updatedAt: T0 + HOUR });
    const decision = decide(owed, event({ updatedAt: T0 }), OPTIONS);
    assert.ok(decision.kind === "send" && decision.next.status === "resolved");
    assert.equal(decision.change, "retry");
  });

  it("waits while another invocation's claim holds the finding, and goes ahead once it expired", () => {
    const inFlight = state({ sentAt: undefined, claim: { version: 3, until: OPTIONS.now + 1000 } });
    const resolve = event({ action: "resolve", passed: true, updatedAt: T0 + HOUR });
    assert.equal(outcome(decide(inFlight, resolve, OPTIONS)), "wait");
    assert.equal(outcome(decide(inFlight, resolve, { ...OPTIONS, now: OPTIONS.now + 1000 })), "send resolve");
    assert.equal(
      outcome(decide(inFlight, event({ updatedAt: T0 - HOUR }), OPTIONS)),
      "skip stale",
      "a skip never waits",
    );
  });

  describe("the finding's history decides, whatever order its events come in (explorer, 2026-12-02)", () => {
    /** PagerDuty took the event (by default half a second after T0): the record as its sender confirms it. */
    const sent = (decision: ReturnType<typeof decide>, at = T0 + 500): AlertState => {
      assert.ok(decision.kind === "send", outcome(decision));
      return { ...decision.next, sentAt: at };
    };
    const recorded = (decision: ReturnType<typeof decide>, before: AlertState): AlertState => {
      assert.ok(decision.kind === "skip", outcome(decision));
      return decision.record ?? before;
    };
    const applied = (effect: ReturnType<typeof webhook>, before: AlertState): AlertState =>
      effect.next ?? before;

    it("a reopening of a finding that fell below the filter before the responder resolved it owes the resolve (seed 300)", () => {
      const paged = sent(decide(undefined, event({ updatedAt: T0 }), OPTIONS));
      const resolution = applied(webhook("incident.resolved", paged, T0 + 2_000), paged);
      assert.equal(resolution.closedBy, "responder", "held, as far as the stack knows");
      // The MEDIUM of +1 s arrives after the resolution: the finding was not failing within the filter then.
      const medium = event({ action: "resolve", below: true, updatedAt: T0 + 1_000 });
      const below = recorded(decide(resolution, medium, OPTIONS), resolution);
      assert.equal(below.status, "resolved");
      const reopening = webhook("incident.reopened", below, T0 + 3_000);
      assert.ok(reopening.kind === "apply" && reopening.next !== undefined);
      assert.equal(
        reopening.next.status,
        "resolved",
        "PagerDuty holds the incident open; the finding is MEDIUM",
      );
      assert.equal(reopening.next.sentAt, undefined, "the resolve is owed");
      assert.equal(reopening.workflow, undefined, "Security Hub is not set NOTIFIED for a finding closed");
      const echo = decide(reopening.next, { ...medium, stackNoted: true, notedAt: T0 + 4_000 }, OPTIONS);
      assert.ok(echo.kind === "send" && echo.next.status === "resolved", outcome(echo));
    });

    it("a resolution made while the finding was below the filter holds nothing, in either order (seed 302)", () => {
      const paged = sent(decide(undefined, event({ updatedAt: T0 }), OPTIONS));
      const medium = event({ action: "resolve", below: true, updatedAt: T0 + 1_000 });
      const again = event({ updatedAt: T0 + 3_000 });
      // The responder resolved at +2 s; the webhook comes after the CRITICAL of +3 s, which the hold kept off.
      const resolution = applied(webhook("incident.resolved", paged, T0 + 2_000), paged);
      const held = recorded(decide(resolution, again, OPTIONS), resolution);
      assert.equal(held.status, "resolved");
      const late = decide(held, medium, OPTIONS);
      assert.ok(late.kind === "skip" && late.record?.status === "open", "the trigger is owed");
      assert.ok(late.notice !== undefined && "pageAgain" in late.notice, "Security Hub is asked for it");
      const echo = event({ updatedAt: T0 + 3_000, stackNoted: true, notedAt: T0 + 5_000 });
      assert.equal(outcome(decide(late.record, echo, OPTIONS)), "send retry");
      // The MEDIUM first, then the webhook: the resolution finds the finding below the filter, and the CRITICAL pages.
      const belowFirst = sent(decide(paged, medium, OPTIONS), T0 + 1_500);
      const unheld = applied(webhook("incident.resolved", belowFirst, T0 + 2_000), belowFirst);
      assert.equal(unheld.closedBy, "finding");
      assert.equal(outcome(decide(unheld, again, OPTIONS)), "send regression");
    });

    it("a RESOLVED a person set, kept by a re-import under a note of the stack's, closes the finding; the stack's own does not", () => {
      const paged = sent(decide(undefined, event({ updatedAt: T0 }), OPTIONS));
      const console = event({ action: "resolve", workflow: true, notedAt: T0 + 1_000, at: T0 + 1_000 });
      const closed = sent(decide(paged, console, OPTIONS), T0 + 1_500);
      const resolution = applied(webhook("incident.resolved", closed, T0 + 2_000), closed);
      assert.equal(resolution.closedBy, "finding", "the finding was closed when the responder resolved");
      const rescan = event({
        action: "resolve",
        workflow: true,
        updatedAt: T0 + HOUR,
        stackNoted: true,
        notedAt: T0 + 2_500,
      });
      assert.equal(outcome(decide(resolution, rescan, OPTIONS)), "skip alreadyResolved", "no page");
      // The stack's RESOLVED of a resolution that held the failing finding, kept by the same re-import: held.
      const held = applied(webhook("incident.resolved", paged, T0 + 2_000), paged);
      assert.equal(held.closedBy, "responder");
      const kept = decide(held, rescan, OPTIONS);
      assert.equal(recorded(kept, held).closedBy, "responder", outcome(kept));
      // Then a reopening: the re-import showed the stack's RESOLVED, not a close, and the finding fails: it pages.
      const reopening = webhook("incident.reopened", recorded(kept, held), T0 + HOUR + 1_000);
      assert.ok(reopening.kind === "apply" && reopening.next?.status === "open");
    });

    it("a resolve owed over a hold, made moot by a late pass before it was sent, sends nothing (PagerDuty holds the new incident open)", () => {
      const paged = sent(decide(undefined, event({ updatedAt: T0 }), OPTIONS));
      // A CRITICAL of +3 s, sent after the responder resolved at +2 s: PagerDuty opened a new incident at +4 s.
      const updated = sent(
        decide(paged, event({ updatedAt: T0 + 3_000, fingerprint: "f2" }), OPTIONS),
        T0 + 4_000,
      );
      const hold = webhook("incident.resolved", updated, T0 + 2_000);
      assert.ok(hold.kind === "apply" && hold.next !== undefined);
      assert.equal(hold.next.status, "resolved", "the resolve of the new incident is owed");
      assert.equal(hold.next.sentAt, undefined);
      // The pass of +1 s, seen last: the finding was not failing when the responder resolved.
      const late = decide(
        hold.next,
        event({ action: "resolve", passed: true, updatedAt: T0 + 1_000 }),
        OPTIONS,
      );
      assert.ok(late.kind === "skip", outcome(late));
      assert.equal(late.notice, undefined, "no trigger is asked for: PagerDuty holds the alert open");
      const after = late.record ?? hold.next;
      assert.equal(after.status, "open");
      assert.equal(after.sentAt, T0 + 4_000, "as PagerDuty took it");
      assert.equal(
        outcome(decide(after, event({ updatedAt: T0 + 3_000, fingerprint: "f2" }), OPTIONS)),
        "skip unchanged",
      );
    });

    it("a fact heard while another invocation's event is in flight waits for it, so that a send that never went out leaves nothing behind", () => {
      const claimed: AlertState = {
        ...(sent(decide(undefined, event({ updatedAt: T0 + 1_000 }), OPTIONS)) as AlertState),
        sentAt: undefined,
        claim: { version: 1, until: OPTIONS.now + 1_000 },
      };
      assert.equal(outcome(decide(claimed, event({ updatedAt: T0 }), OPTIONS)), "wait");
      assert.equal(
        outcome(decide(claimed, event({ updatedAt: T0 }), { ...OPTIONS, now: OPTIONS.now + 1_000 })),
        "skip stale",
      );
    });
  });

  it("sends resolves for findings without state while the upgrade's transition lasts", () => {
    assert.equal(
      outcome(decide(undefined, event({ action: "resolve" }), { ...OPTIONS, resolveUntracked: true })),
      "send untracked",
    );
  });
});

describe("the stores' conditional writes, on dynalite and on the benchmark's in-process table", () => {
  let emulator: DynamoDbEmulator;
  before(async () => {
    emulator = await startDynalite([STATE_TABLE]);
  });
  after(() => emulator.close());

  const clients: [string, () => DynamoDBClient][] = [
    [
      "dynalite",
      () =>
        new DynamoDBClient({
          endpoint: emulator.endpoint,
          region: "us-east-1",
          credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" },
        }),
    ],
    [
      "in-process",
      () =>
        inProcessClient<DynamoDBClient>(createDynamoDbService([STATE_TABLE]).operations, {
          clock: systemClock,
          latencyMs: 0,
        }),
    ],
  ];
  for (const [name, client] of clients) {
    it(`${name}: an alert is written only over the version read, and round-trips`, async () => {
      const store = createDynamoAlertStore(client(), STATE_TABLE);
      const key = `securityhub-${name}`;
      const open = state({
        dedupKey: key,
        version: 1,
        finding: {
          id: "arn:aws:s3:::bucket/check",
          productArn: "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default",
        },
      });
      assert.equal(await store.get(key), undefined);
      assert.equal(await store.put(open, undefined, T0), true);
      assert.equal(await store.put(open, undefined, T0), false, "a second first write loses");
      assert.deepEqual(await store.get(key), open);
      const resolved = { ...open, status: "resolved" as const, closedBy: "finding" as const, version: 2 };
      assert.equal(await store.put(resolved, 0, T0), false, "a write over a version it did not read loses");
      assert.equal(await store.put(resolved, 1, T0), true);
      assert.deepEqual(await store.get(key), resolved);
      const pending = { ...resolved, sentAt: undefined, version: 3 };
      assert.equal(await store.put(pending, 2, T0), true);
      assert.equal((await store.get(key))?.sentAt, undefined);
    });

    it(`${name}: reads many alerts at once, 100 keys a call, a key asked twice once, missing ones absent`, async () => {
      const store = createDynamoAlertStore(client(), STATE_TABLE);
      const keys = Array.from({ length: 230 }, (_, index) => `many-${name}-${index}`);
      for (const key of keys.filter((_, index) => index % 2 === 0))
        assert.equal(await store.put(state({ dedupKey: key, version: 1 }), undefined, T0), true);
      const found = await store.getMany([...keys, keys[0] ?? ""]);
      assert.equal(found.size, 115);
      assert.deepEqual(found.get(keys[228] ?? ""), state({ dedupKey: keys[228] ?? "", version: 1 }));
      assert.equal(found.has(keys[1] ?? ""), false);
    });

    it(`${name}: the send schedule swaps only over the state it read`, async () => {
      const store = createDynamoPacingStore(client(), STATE_TABLE);
      const id = `schedule-${name}`;
      assert.deepEqual(await store.swap(id, undefined, { tat: 10 }), { ok: true });
      assert.deepEqual(await store.swap(id, undefined, { tat: 20 }), { ok: false, current: { tat: 10 } });
      assert.deepEqual(await store.swap(id, { tat: 10 }, { tat: 20 }), { ok: true });
      assert.deepEqual(await store.swap(id, { tat: 10 }, { tat: 30 }), { ok: false, current: { tat: 20 } });
      // The urgent slots given in a row are kept with the schedule, for every container to see.
      assert.deepEqual(await store.swap(id, { tat: 20 }, { tat: 30, urgentRun: 2 }), { ok: true });
      assert.deepEqual(await store.swap(id, { tat: 20 }, { tat: 40 }), {
        ok: false,
        current: { tat: 30, urgentRun: 2 },
      });
    });
  }

  it("in-process: BatchGetItem refuses what DynamoDB refuses, and the store asks again for unprocessed keys", async () => {
    const leftOnce = new Set(["alert#left-1", "alert#left-2"]);
    const stubborn = new Set<string>();
    const service = createDynamoDbService([STATE_TABLE], {
      unprocessed: (id) => leftOnce.delete(id) || stubborn.has(id),
    });
    const client = inProcessClient<DynamoDBClient>(service.operations, { clock: systemClock, latencyMs: 0 });
    const batchGet = (keys: string[]) =>
      service.operations.BatchGetItem?.({
        RequestItems: { [STATE_TABLE]: { Keys: keys.map((id) => ({ id: { S: id } })) } },
      });
    assert.throws(() => batchGet(["a", "a"]), /duplicates/);
    assert.throws(() => batchGet(Array.from({ length: 101 }, (_, index) => `k${index}`)), /Too many items/);
    const store = createDynamoAlertStore(client, STATE_TABLE, () => Promise.resolve());
    for (const key of ["left-1", "left-2", "done"])
      await store.put(state({ dedupKey: key, version: 1 }), undefined, T0);
    assert.deepEqual([...(await store.getMany(["left-1", "left-2", "done"])).keys()].sort(), [
      "done",
      "left-1",
      "left-2",
    ]);
    stubborn.add("alert#done");
    assert.deepEqual(
      [...(await store.getMany(["left-1", "done"])).keys()],
      ["left-1"],
      "what stays unprocessed is left unread, for GetItem",
    );
  });

  it("keeps open alerts forever and lets resolved ones expire (TTL attribute)", async () => {
    const store = createDynamoAlertStore(clients[0]?.[1]() as DynamoDBClient, STATE_TABLE);
    await store.put(state({ dedupKey: "ttl-open", version: 1 }), undefined, T0);
    await store.put(
      state({ dedupKey: "ttl-resolved", status: "resolved", closedBy: "finding", version: 1 }),
      undefined,
      T0,
    );
    assert.equal((await emulator.item(STATE_TABLE, "alert#ttl-open"))?.expiresAt, undefined);
    assert.equal(
      (await emulator.item(STATE_TABLE, "alert#ttl-resolved"))?.expiresAt?.N,
      String(Math.floor((T0 + 7 * 24 * HOUR) / 1000)),
    );
  });
});

describe("alert state in the handler, over real HTTP (DynamoDB in dynalite)", () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(() => world.close());

  const at = (time: string, changes: Record<string, unknown> = {}) => ({
    ...findingOf("electriceye-s3-public-bucket-policy.json"),
    UpdatedAt: time,
    ...changes,
  });
  const body = (finding: unknown) => JSON.stringify(importedEvent([finding]));
  const requests = () => world.pagerduty.model.counts().requests;
  const skipped = (kind: string) =>
    world.logs.filter((line) => line.message === "finding skipped" && line.alert === kind);
  const dedupKey = routedTrigger(at("2026-03-02T10:00:00Z")).mapped.dedupKey;

  it("sends one trigger for a finding and nothing for its unchanged re-imports", async () => {
    const handler = world.handler();
    for (const hour of ["10", "11", "12"]) await handler(sqsEvent([body(at(`2026-03-02T${hour}:00:00Z`))]));
    assert.equal(requests(), 1);
    assert.equal(skipped("unchanged").length, 2);
    assert.match(String(skipped("unchanged")[0]?.reason), /^alert still open, last sent /);
    const item = await world.dynamodb.item(STATE_TABLE, `alert#${dedupKey}`);
    assert.equal(item?.status?.S, "open");
    assert.equal(item?.updatedAt?.N, String(Date.parse("2026-03-02T12:00:00Z")), "the newest UpdatedAt seen");
  });

  it("sends a severity change, up and down, to the same alert", async () => {
    const handler = world.handler();
    await handler(sqsEvent([body(at("2026-03-02T10:00:00Z"))]));
    await handler(sqsEvent([body(at("2026-03-02T11:00:00Z", { Severity: { Label: "HIGH" } }))]));
    await handler(sqsEvent([body(at("2026-03-02T12:00:00Z", { Severity: { Label: "CRITICAL" } }))]));
    assert.equal(requests(), 3);
    const [alert] = world.pagerduty.model.openAlerts();
    assert.equal(alert?.updates, 2, "one alert, updated twice, nobody paged again");
    assert.equal((alert?.event.payload as { severity: string }).severity, "critical");
  });

  it("sends nothing for the passed re-import of a finding that never paged, and says why", async () => {
    const response = await world.handler()(sqsEvent([body(passedReimport(at("2026-03-02T10:00:00Z")))]));
    assert.deepEqual(failures(response), []);
    assert.equal(requests(), 0);
    assert.equal(skipped("nothingToResolve")[0]?.reason, "it never paged");
  });

  it("resolves an open alert once, and a regression opens a new alert", async () => {
    const handler = world.handler();
    await handler(sqsEvent([body(at("2026-03-02T10:00:00Z"))]));
    await handler(sqsEvent([body(passedReimport(at("2026-03-02T11:00:00Z")))]));
    await handler(sqsEvent([body(passedReimport(at("2026-03-02T12:00:00Z")))]));
    assert.equal(requests(), 2, "the second passed re-import sends nothing");
    await handler(sqsEvent([body(at("2026-03-02T13:00:00Z"))]));
    const alerts = world.pagerduty.model.alerts();
    assert.deepEqual(
      alerts.map((alert) => [alert.incident, alert.status]),
      [
        [1, "resolved"],
        [2, "triggered"],
      ],
    );
  });

  it("does not page for a trigger that its finding's later resolution overtook in another lane", async () => {
    const handler = world.handler();
    await handler(sqsEvent([body(at("2026-03-02T10:00:00Z"))]));
    await handler(sqsEvent([body(passedReimport(at("2026-03-02T13:00:00Z")))]));
    await handler(sqsEvent([body(at("2026-03-02T12:00:00Z"))]));
    assert.deepEqual(world.pagerduty.model.openAlerts(), []);
    assert.match(
      String(skipped("stale")[0]?.reason),
      /a later update \(2026-03-02T13:00:00.000Z\) already resolved this finding/,
    );
  });

  it("ends resolved when a trigger and its resolve race in two lanes: the resolve waits for the trigger, and a 429 on it is retried", async () => {
    // The trigger's request is held up in PagerDuty while the resolve lane takes the fix; PagerDuty then answers
    // 429 once, to whichever request comes third.
    world.pagerduty.injectFault({ kind: "delay", ms: 400 });
    world.pagerduty.injectFault({ kind: "delay", ms: 0 });
    world.pagerduty.injectFault({ kind: "status", status: 429 });
    const standard = world.handler();
    const resolveLane = world.handler();
    const trigger = standard(sqsEvent([body(at("2026-03-02T10:00:00Z"))]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fix = sqsEvent([body(passedReimport(at("2026-03-02T10:05:00Z")))]);
    let handedBack = failures(await resolveLane(fix));
    assert.deepEqual(failures(await trigger), []);
    // SQS delivers a handed-back record again.
    for (let round = 0; handedBack.length > 0 && round < 3; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      handedBack = failures(await resolveLane(fix));
    }
    assert.deepEqual(world.pagerduty.model.openAlerts(), [], "PagerDuty ends with no open alert");
    const item = await world.dynamodb.item(STATE_TABLE, `alert#${dedupKey}`);
    assert.equal(item?.status?.S, "resolved");
    assert.ok(item?.sentAt?.N !== undefined, "confirmed");
  });

  it("ends resolved when the resolve lane gets there first, sending nothing at all", async () => {
    await world.handler()(sqsEvent([body(passedReimport(at("2026-03-02T10:05:00Z")))]));
    await world.handler()(sqsEvent([body(at("2026-03-02T10:00:00Z"))]));
    assert.equal(requests(), 0);
  });

  it("sends anyway when the state table cannot be used, and says so", async () => {
    const handler = world.handler({}, { stateTable: "no-such-table" });
    await handler(sqsEvent([body(at("2026-03-02T10:00:00Z"))]));
    await handler(sqsEvent([body(at("2026-03-02T11:00:00Z"))]));
    assert.equal(requests(), 2, "without state every import is sent");
    assert.equal(world.pagerduty.model.openAlerts().length, 1);
    const warning = world.logs.find((line) => line.message === "alert state read failed; sending anyway");
    assert.match(String(warning?.error), /ResourceNotFoundException/);
  });

  it("re-sends an unchanged open alert after alertRefreshHours", async () => {
    let offset = 0;
    const clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };
    const handler = world.handler({ clock }, { alertRefreshHours: 24 });
    await handler(sqsEvent([body(at("2026-03-02T10:00:00Z"))]));
    offset = 23 * HOUR;
    await handler(sqsEvent([body(at("2026-03-02T11:00:00Z"))]));
    assert.equal(requests(), 1);
    offset = 25 * HOUR;
    await handler(sqsEvent([body(at("2026-03-02T12:00:00Z"))]));
    assert.equal(requests(), 2);
    assert.equal(world.logs.filter((line) => line.alert === "refresh").length, 1);
  });

  describe("upgrading from a version without alert state", () => {
    // An alert the previous version opened: PagerDuty has it, the state table does not.
    async function alertFromPreviousVersion(): Promise<void> {
      const { mapped } = routedTrigger(at("2026-03-01T10:00:00Z"));
      const answer = await fetch(world.pagerduty.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...mapped.event, routing_key: ROUTING_KEY }),
      });
      assert.equal(answer.status, 202);
    }

    it("with resolveUntrackedUntil ahead, resolves an alert the previous version opened", async () => {
      await alertFromPreviousVersion();
      const handler = world.handler({}, { resolveUntrackedUntil: Date.now() + 24 * HOUR });
      await handler(sqsEvent([body(passedReimport(at("2026-03-02T10:00:00Z")))]));
      assert.deepEqual(world.pagerduty.model.openAlerts(), []);
      assert.equal(world.logs.find((line) => line.message === "finding outcome")?.alert, "untracked");
    });

    it("once resolveUntrackedUntil has passed, leaves such an alert open and says the finding never paged", async () => {
      await alertFromPreviousVersion();
      const handler = world.handler({}, { resolveUntrackedUntil: Date.now() - HOUR });
      await handler(sqsEvent([body(passedReimport(at("2026-03-02T10:00:00Z")))]));
      assert.equal(world.pagerduty.model.openAlerts().length, 1);
      assert.equal(skipped("nothingToResolve").length, 1);
    });

    it("adopts a still-failing finding's alert without paging again, and resolves it later", async () => {
      await alertFromPreviousVersion();
      const handler = world.handler();
      await handler(sqsEvent([body(at("2026-03-02T10:00:00Z"))]));
      const [alert] = world.pagerduty.model.openAlerts();
      assert.equal(alert?.incident, 1);
      assert.equal(alert?.updates, 1, "the trigger updated the open alert: nobody was paged again");
      await handler(sqsEvent([body(passedReimport(at("2026-03-02T11:00:00Z")))]));
      assert.deepEqual(world.pagerduty.model.openAlerts(), []);
    });
  });
});

describe("alert state contended past its attempts", () => {
  it("decides again shortly, and counts it with the state table failures (before, it counted them as it sent)", async () => {
    const memory = createMemoryAlertStore();
    const counted: string[] = [];
    const tracker = createAlertTracker({
      store: { get: memory.get, getMany: memory.getMany, put: () => Promise.resolve(false) },
      clock: { now: () => T0, sleep: () => Promise.resolve() },
      log: silentLogger,
      meter: { ...silentMeter, count: (name) => counted.push(name) },
      refreshMs: 0,
      resolveUntrackedUntil: 0,
      writeBack: false,
    });
    const plan = await tracker.plan(event({ dedupKey: "securityhub-contended" }), T0 + 60_000);
    assert.ok(plan.kind === "wait" && plan.until === T0 + 1_000);
    assert.deepEqual(counted, ["StateTableFailures"]);
  });
});
