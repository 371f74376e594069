import assert from "assert/strict";
import { decide, type AlertEvent, type AlertState } from "../handler/state/alerts";
import { webhookPayload, deliverWebhook } from "../standins/pagerdutyWebhooks";
import type { Responder } from "../standins/pagerdutyModel";
import { importedEvent, passedReimport } from "../tools/simulation/findings";
import { findingOf, sqsEvent } from "./support/fixtures";
import { AwsError } from "../standins/awsJson";
import {
  STATE_TABLE,
  WEBHOOK_SECRET,
  failures,
  replayFollowUps,
  startWorld,
  type World,
} from "./support/world";

// A pass delivered after a responder's resolution and a newer failure owes the trigger: the NOTIFIED write that asks
// Security Hub for it may fail, or a re-import may show the stack's own RESOLVED first; neither may lose it.

const ADA: Responder = { id: "PADA001", name: "Ada Lovelace" };

describe("the trigger owed again after a late pass ends a responder's hold, over real HTTP", () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(() => world.close());

  const FIXTURE = "electriceye-s3-public-bucket-policy.json";
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
    const [alert] = world.pagerduty.model.alerts();
    assert.ok(alert !== undefined);
    world.pagerduty.model.respond(alert.dedupKey, "resolve", ADA);
    const resolved = JSON.stringify(
      webhookPayload(world.pagerduty.model, alert, "incident.resolved", ADA, {
        occurredAt: new Date(now - 5_000),
      }),
    );
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
  const T0 = Date.parse("2026-03-02T10:00:00.000Z");
  const OPTIONS = { now: T0 + 3600_000, refreshMs: 24 * 3600_000, resolveUntracked: false, writeBack: true };

  it("leaves a person's console RESOLVED, carried by a newer failing import, to close the alert when a later send is unconfirmed", () => {
    // The late pass at +1 s owed the trigger and its echo sent it (reopened and passedAt stay); a scan at +4 s
    // changed the page and its update was claimed, then PagerDuty answered 5xx. A person resolved the finding in
    // the console with no note of their own, and the scanner's next import (+5 s, still failing) carries that.
    const state: AlertState = {
      dedupKey: "securityhub-abc",
      status: "open",
      updatedAt: T0 + 4_000,
      fingerprints: { asff: "f2" },
      paged: true,
      version: 9,
      incident: { id: "Q1" },
      openedAt: T0,
      openedFrom: T0,
      reopened: true,
      passedAt: T0 + 1_000,
      responderAt: T0 + 2_000,
    };
    const next: AlertEvent = {
      dedupKey: "securityhub-abc",
      action: "resolve",
      updatedAt: T0 + 5_000,
      format: "asff",
      fingerprint: "f2",
      passed: false,
      manual: false,
      finding: { id: "finding-1" },
      triaged: true,
      stackNoted: true,
    };
    const decision = decide(state, next, OPTIONS);
    assert.equal(
      decision.kind,
      "send",
      "the person's RESOLVED closes the alert, not NOTIFIED written over it",
    );
    assert.equal(decision.next.status, "resolved");
  });
});
