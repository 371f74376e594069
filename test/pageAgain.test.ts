import assert from "assert/strict";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { AWS_CLIENT_CONFIG } from "../handler/awsClients";
import { decide, type AlertEvent, type AlertState } from "../handler/state/alerts";
import { createSecurityHubUpdater, type FindingUpdater } from "../handler/sync/securityHub";
import { deliverWebhook } from "../standins/pagerdutyWebhooks";
import type { Responder } from "../standins/pagerdutyModel";
import { importedEvent, passedReimport } from "../tools/simulation/findings";
import { findingOf, sqsEvent } from "./support/fixtures";
import { AwsError } from "../standins/awsJson";
import {
  STATE_TABLE,
  WEBHOOK_SECRET,
  failures,
  replayFollowUps,
  responderResolves,
  startWorld,
  type World,
} from "./support/world";

// A responder's resolution, and the finding failing again after it. A pass delivered after the resolution and a
// newer failure owes the trigger: the NOTIFIED write that asks Security Hub for it may fail, or a re-import may show
// the stack's own RESOLVED first; neither may lose it.

const ADA: Responder = { id: "PADA001", name: "Ada Lovelace" };
const FIXTURE = "electriceye-s3-public-bucket-policy.json";

const T0 = Date.parse("2026-03-02T10:00:00.000Z");
const OPTIONS = { now: T0 + 60_000, refreshMs: 24 * 3600_000, resolveUntracked: false, writeBack: true };
const base = {
  dedupKey: "securityhub-abc",
  format: "asff" as const,
  fingerprint: "f1",
  manual: false,
  finding: { id: "finding-1" },
  triaged: false,
};
/** Paged for the failure of T0, its incident Q1 resolved: by a responder, unless `changes` say otherwise. */
const record = (changes: Partial<AlertState>): AlertState => ({
  dedupKey: "securityhub-abc",
  status: "resolved",
  closedBy: "responder",
  updatedAt: T0,
  fingerprints: { asff: "f1" },
  paged: true,
  version: 5,
  incident: { id: "Q1" },
  openedAt: T0,
  openedFrom: T0,
  ...changes,
});
const failing = (updatedAt: number): AlertEvent => ({
  ...base,
  action: "trigger",
  updatedAt,
  passed: false,
});
const passed = (updatedAt: number): AlertEvent => ({ ...base, action: "resolve", updatedAt, passed: true });

describe("the trigger owed again after a late pass ends a responder's hold, over real HTTP", () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(() => world.close());

  const imported = (at: number, changes: Record<string, unknown> = {}) => {
    const [held] = world.securityHub.importFindings([
      { ...findingOf(FIXTURE), UpdatedAt: new Date(at).toISOString() },
    ]);
    return { ...held, ...changes } as Record<string, unknown>;
  };
  /** The finding as an out-of-order EventBridge delivery carries it: Security Hub already holds a newer one. */
  const lateCopy = (at: number) => {
    const base = findingOf(FIXTURE) as Record<string, unknown>;
    const held = world.securityHub.finding(String(base.Id), String(base.ProductArn)) as Record<
      string,
      unknown
    >;
    return { ...held, UpdatedAt: new Date(at).toISOString() } as Record<string, unknown>;
  };

  /** Paged at now-10 s, resolved by a responder at now-5 s, failing again at now-2 s: held by the resolution. */
  async function held() {
    const lane = world.handler({}, { securityHubSync: true });
    const deliver = (finding: unknown) => lane(sqsEvent([JSON.stringify(importedEvent([finding]))]));
    const url = await world.webhookEndpoint();
    const now = Date.now();
    assert.deepEqual(failures(await deliver(imported(now - 10_000))), []);
    world.securityHub.drainEvents();
    const { alert, body: resolved } = responderResolves(world, ADA, now - 5_000);
    assert.equal((await deliverWebhook(url, resolved, WEBHOOK_SECRET)).status, 200);
    await replayFollowUps(world, lane);
    assert.deepEqual(
      failures(await deliver(imported(now - 2_000, { Workflow: { Status: "RESOLVED" } }))),
      [],
    );
    await replayFollowUps(world, lane);
    assert.equal(world.pagerduty.model.openAlerts().length, 0, "held");
    return { lane, deliver, alert, now };
  }

  /** The pass of now-6 s (before the resolution) arrives last: the resolution held nothing; the trigger is owed. */
  async function scenario(beforeLatePass: () => void = () => {}) {
    const { lane, deliver, alert, now } = await held();
    beforeLatePass();
    assert.deepEqual(failures(await deliver(passedReimport(lateCopy(now - 6_000)))), []);
    await replayFollowUps(world, lane);
    const item = await world.dynamodb.item(STATE_TABLE, `alert#${alert.dedupKey}`);
    return { item, open: world.pagerduty.model.openAlerts().length };
  }

  it("with securityHubSync on, Security Hub's echo sends the owed trigger", async () => {
    const { item, open } = await scenario();
    assert.equal(item?.status?.S, "open");
    assert.equal(open, 1, "PagerDuty holds the failing finding open");
  });

  it("with securityHubSync on but the NOTIFIED write failing, the owed trigger is still sent", async () => {
    const { item, open } = await scenario(() =>
      world.securityHub.failNext(
        new AwsError(
          "AccessDeniedException",
          "not authorized to perform securityhub:BatchUpdateFindings",
          403,
        ),
      ),
    );
    assert.equal(item?.status?.S, "open", "the record owes the trigger");
    assert.equal(open, 0, "no echo yet: nothing sent");
    // The scanner's next import: still FAILED, and Security Hub still shows the responder's RESOLVED (the
    // NOTIFIED that was to replace it did not land). It sends the owed trigger.
    const lane = world.handler({}, { securityHubSync: true });
    const next = imported(Date.now());
    assert.equal((next.Workflow as { Status: string }).Status, "RESOLVED");
    assert.deepEqual(failures(await lane(sqsEvent([JSON.stringify(importedEvent([next]))]))), []);
    await replayFollowUps(world, lane);
    assert.deepEqual(
      failures(await lane(sqsEvent([JSON.stringify(importedEvent([imported(Date.now() + 1_000)]))]))),
      [],
    );
    const after = await world.dynamodb.item(
      STATE_TABLE,
      `alert#${world.pagerduty.model.alerts()[0]?.dedupKey}`,
    );
    assert.equal(world.pagerduty.model.openAlerts().length, 1, "the failing finding pages again");
    assert.equal(after?.status?.S, "open", `record: ${after?.status?.S} closedBy ${after?.closedBy?.S}`);
  });

  it("a scanner re-import taken before the NOTIFIED write (Workflow RESOLVED), delivered before the write's echo, does not lose the owed trigger", async () => {
    const { lane, deliver, alert, now } = await held();
    const reimport = imported(now - 1_000); // imported before the NOTIFIED write: Workflow RESOLVED
    assert.deepEqual(failures(await deliver(passedReimport(lateCopy(now - 6_000)))), []);
    const echoes = world.securityHub.drainEvents();
    assert.ok(echoes.length > 0, "the NOTIFIED write landed");
    assert.deepEqual(failures(await deliver(reimport)), []);
    for (const echo of echoes) await lane(sqsEvent([JSON.stringify(echo)]));
    await replayFollowUps(world, lane);
    const after = await world.dynamodb.item(STATE_TABLE, `alert#${alert.dedupKey}`);
    assert.equal(
      world.pagerduty.model.openAlerts().length,
      1,
      `record: ${after?.status?.S} closedBy ${after?.closedBy?.S}`,
    );
  });
});

describe("the trigger owed again, once it was sent", () => {
  it("leaves a person's console RESOLVED, carried by a newer failing import, to close the alert when a later send is unconfirmed", () => {
    // The late pass at +1 s owed the trigger and its echo sent it (reopened and passedAt stay); a scan at +4 s
    // changed the page and its update was claimed, then PagerDuty answered 5xx. A person resolved the finding in
    // the console with no note of their own, and the scanner's next import (+5 s, still failing) carries that.
    const state = record({
      status: "open",
      closedBy: undefined,
      updatedAt: T0 + 4_000,
      fingerprints: { asff: "f2" },
      version: 9,
      reopened: true,
      passedAt: T0 + 1_000,
      responderAt: T0 + 2_000,
    });
    const next: AlertEvent = {
      ...base,
      action: "resolve",
      updatedAt: T0 + 5_000,
      fingerprint: "f2",
      passed: false,
      triaged: true,
      stackNoted: true,
    };
    const decision = decide(state, next, { ...OPTIONS, now: T0 + 3600_000 });
    assert.equal(
      decision.kind,
      "send",
      "the person's RESOLVED closes the alert, not NOTIFIED written over it",
    );
    assert.equal(decision.next.status, "resolved");
  });
});

// A responder's resolution is written to Security Hub by the webhook function after its hold is recorded; that
// write can land late (Security Hub throttled it, the function retried), after the finding passed and failed
// again. Security Hub then shows the stack's RESOLVED of the earlier incident on a finding whose new alert is open.

describe("a responder's resolution written to Security Hub late, after the finding failed again", () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(() => world.close());

  const imported = (at: number) =>
    world.securityHub.importFindings([
      { ...findingOf(FIXTURE), UpdatedAt: new Date(at).toISOString() },
    ])[0] as Record<string, unknown>;
  const held = () => {
    const base = findingOf(FIXTURE) as Record<string, unknown>;
    return world.securityHub.finding(String(base.Id), String(base.ProductArn)) as {
      Workflow?: { Status: string };
      Note?: { Text: string };
    };
  };

  /**
   * Paged at now-10 s; a responder resolves at now-8 s, and the webhook function's RESOLVED waits on its way to
   * Security Hub while the finding passes (now-6 s) and fails again (now-4 s, a new alert). Then it lands.
   */
  async function lateResolution() {
    const lane = world.handler({}, { securityHubSync: true });
    const deliver = (finding: unknown) => lane(sqsEvent([JSON.stringify(importedEvent([finding]))]));
    // The webhook function's first Security Hub write waits until the test lets it through.
    const updater = createSecurityHubUpdater(new SecurityHubClient(AWS_CLIENT_CONFIG));
    let reached!: () => void;
    const writing = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const gated: FindingUpdater = async (update) => {
      calls += 1;
      if (calls === 1) {
        reached();
        await released;
      }
      return updater(update);
    };
    const url = await world.webhookEndpoint({ findingUpdater: gated });
    const now = Date.now();

    assert.deepEqual(failures(await deliver(imported(now - 10_000))), []);
    await replayFollowUps(world, lane);
    const { body } = responderResolves(world, ADA, now - 8_000);
    const answered = deliverWebhook(url, body, WEBHOOK_SECRET);
    await writing; // the hold is recorded; its RESOLVED is on its way to Security Hub
    assert.deepEqual(failures(await deliver(passedReimport(imported(now - 6_000)))), []);
    assert.deepEqual(failures(await deliver(imported(now - 4_000))), []);
    await replayFollowUps(world, lane);
    assert.equal(world.pagerduty.model.openAlerts().length, 1, "the regression paged");
    release();
    assert.equal((await answered).status, 200);
    assert.equal(held().Workflow?.Status, "RESOLVED", "the late write landed");
    assert.match(held().Note?.Text ?? "", /^Resolved in PagerDuty by Ada Lovelace/);
    return { lane, deliver, now };
  }

  it("does not close the new alert, and sets Security Hub back to NOTIFIED with a note saying why", async () => {
    const { lane, deliver, now } = await lateResolution();
    await replayFollowUps(world, lane);
    assert.equal(world.pagerduty.model.openAlerts().length, 1, "the late RESOLVED closed nothing");
    assert.equal(held().Workflow?.Status, "NOTIFIED");
    assert.match(held().Note?.Text ?? "", /earlier incident/);
    // The scanner's next import, still failing, sends nothing and closes nothing.
    assert.deepEqual(failures(await deliver(imported(now))), []);
    await replayFollowUps(world, lane);
    assert.equal(world.pagerduty.model.openAlerts().length, 1);
    assert.equal(world.pagerduty.model.alerts().length, 2);
  });

  it("a newer import that still shows the late RESOLVED (its correction failed) closes nothing and corrects it", async () => {
    const { lane, deliver, now } = await lateResolution();
    world.securityHub.failNext(
      new AwsError("AccessDeniedException", "not authorized to perform securityhub:BatchUpdateFindings", 403),
    );
    await replayFollowUps(world, lane);
    assert.equal(held().Workflow?.Status, "RESOLVED", "the correction did not land");
    assert.deepEqual(failures(await deliver(imported(now))), []);
    await replayFollowUps(world, lane);
    assert.equal(world.pagerduty.model.openAlerts().length, 1, "the failing finding's alert stays open");
    assert.equal(held().Workflow?.Status, "NOTIFIED");
  });
});

describe("decisions around a responder's resolution of an earlier alert", () => {
  it("takes a RESOLVED shown with any note of the stack's for the earlier resolution's, landed late; a person's note closes it", () => {
    // A responder resolved at +2 s (held), the finding passed at +3 s and failed again at +4 s.
    const held = record({
      closedBy: "finding",
      updatedAt: T0 + 3_000,
      sentAt: T0 + 3_500,
      responderAt: T0 + 2_000,
    });
    const regression = decide(held, failing(T0 + 4_000), OPTIONS);
    assert.ok(regression.kind === "send" && regression.change === "regression");
    const open = { ...regression.next, sentAt: OPTIONS.now };
    // The late RESOLVED, then a webhook's note of the earlier incident over it: both show RESOLVED.
    const echo: AlertEvent = {
      ...base,
      action: "resolve",
      updatedAt: T0 + 4_000,
      passed: false,
      triaged: true,
      stackNoted: true,
    };
    for (const event of [echo, { ...echo, updatedAt: T0 + 9_000 }]) {
      const decision = decide(open, event, OPTIONS);
      assert.ok(decision.kind === "skip", JSON.stringify(decision));
      assert.deepEqual(decision.notice, { earlierResolution: true });
    }
    const person = decide(open, { ...echo, stackNoted: false }, OPTIONS);
    assert.ok(person.kind === "send" && person.next.status === "resolved");
    // Without a responder's action before it, a note-less console RESOLVED closes the alert as ever.
    const plain = decide({ ...held, responderAt: undefined }, failing(T0 + 4_000), OPTIONS);
    assert.ok(plain.kind === "send");
    const closed = decide({ ...plain.next, sentAt: OPTIONS.now }, echo, OPTIONS);
    assert.ok(closed.kind === "send" && closed.next.status === "resolved");
  });

  it("a pass from before the resolution, seen after its hold, leaves the hold on a failure imported between the two; without one, a later failure pages", () => {
    // Archived at +1 s, failing again at +2 s, resolved by a responder at +20 s: the hold is recorded first, then
    // the archived import arrives, then the failure of +2 s.
    const held = record({ sentAt: T0 + 500, responderAt: T0 + 20_000 });
    const archived = decide(held, passed(T0 + 1_000), OPTIONS);
    assert.ok(archived.kind === "skip" && archived.record !== undefined);
    const between = decide(archived.record, failing(T0 + 2_000), OPTIONS);
    assert.ok(between.kind === "skip" && between.skip === "heldByResponder", JSON.stringify(between));
    assert.ok(between.record !== undefined);
    const later = decide(between.record, failing(T0 + 30_000), OPTIONS);
    assert.ok(later.kind === "skip" && later.skip === "heldByResponder", "no pass since the resolution");
    // Without a failure between them, the pass ended what the resolution held: a failure after it pages.
    const after = decide(archived.record, failing(T0 + 30_000), OPTIONS);
    assert.ok(after.kind === "send" && after.change === "regression");
  });

  it("an older pass that comes with a resolve owed sends it and leaves the hold as it is", () => {
    // Held, the failure of +2 s seen, the stack's resolve of a trigger the hold crossed still owed (unconfirmed).
    const owed = record({ updatedAt: T0 + 2_000, responderAt: T0 + 20_000 });
    const archived = decide(owed, passed(T0 + 1_000), OPTIONS);
    assert.ok(archived.kind === "send" && archived.change === "retry");
    assert.equal(archived.next.closedBy, "responder");
    const later = decide({ ...archived.next, sentAt: OPTIONS.now }, failing(T0 + 30_000), OPTIONS);
    assert.ok(later.kind === "skip" && later.skip === "heldByResponder");
  });
});
