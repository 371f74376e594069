import assert from "assert/strict";
import { createMemoryPacingStore, type PacingState, type PacingStore } from "../handler/delivery/pacing";
import type { Grouping } from "../handler/finding/control";
import { electricEyeFinding, importedEvent, passedReimport } from "../tools/simulation/findings";
import { sqsEvent } from "./support/fixtures";
import { STATE_TABLE, failures, startWorld, type World } from "./support/world";

// alertPer: control in the deployed function, over real HTTP (DynamoDB in dynalite): ElectricEye's real S3.1
// finding on buckets of one account pages once, as a group.

const BY_CONTROL: Grouping = { per: "control", fields: ["account"], criticalAlone: true };
const ACCOUNT = "111122223333";

function bucket(name: string, hour: number, passed = false): Record<string, unknown> {
  const finding = {
    ...electricEyeFinding("s3-encryption-high", name, ACCOUNT),
    UpdatedAt: `2026-03-02T${String(hour).padStart(2, "0")}:00:00.000Z`,
  };
  return passed ? passedReimport(finding) : finding;
}
const body = (findings: unknown[]) => JSON.stringify(importedEvent(findings));

describe("one alert per failing control, in the function (DynamoDB in dynalite)", () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(() => world.close());

  const accepted = () => world.pagerduty.model.accepted().map((event) => event.action);
  const handler = () => world.handler({}, { grouping: BY_CONTROL });

  it("opens one incident for a control failing on three buckets, stays quiet as it grows and shrinks, closes with the last, and opens again on a regression", async () => {
    const run = handler();
    const three = ["billing-archive", "billing-logs", "billing-replica"];
    await run(sqsEvent([body(three.map((name) => bucket(name, 10)))]));
    assert.deepEqual(accepted(), ["trigger"]);
    const [alert] = world.pagerduty.model.openAlerts();
    const payload = alert?.event.payload as { summary: string; custom_details: { resources: unknown[] } };
    assert.match(payload.summary, /^HIGH: .* fails on 3 buckets \(account 111122223333, every Region\)$/);
    assert.equal(payload.custom_details.resources.length, 3);

    // A rescan sends and writes nothing; a fourth bucket joins without a word.
    const before = await world.dynamodb.item(STATE_TABLE, `group#${alert?.dedupKey ?? ""}`);
    await run(sqsEvent([body(three.map((name) => bucket(name, 11)))]));
    const after = await world.dynamodb.item(STATE_TABLE, `group#${alert?.dedupKey ?? ""}`);
    assert.equal(after?.version?.N, before?.version?.N, "an unchanged rescan writes nothing to the group");
    await run(sqsEvent([body([bucket("billing-scratch", 11)])]));
    // Two pass, one scan later: the group stays open.
    await run(sqsEvent([body([bucket("billing-archive", 12, true), bucket("billing-logs", 12, true)])]));
    assert.deepEqual(accepted(), ["trigger"]);
    // The last two pass: one resolve.
    await run(sqsEvent([body([bucket("billing-replica", 13, true), bucket("billing-scratch", 13, true)])]));
    assert.deepEqual(accepted(), ["trigger", "resolve"]);
    assert.deepEqual(world.pagerduty.model.openAlerts(), []);
    // A regression opens it again, as a new incident of the same dedup key.
    await run(sqsEvent([body([bucket("billing-logs", 14)])]));
    assert.deepEqual(accepted(), ["trigger", "resolve", "trigger"]);
    const reopened = world.pagerduty.model.openAlerts();
    assert.equal(reopened.length, 1);
    assert.equal(reopened[0]?.dedupKey, alert?.dedupKey);
    assert.match((reopened[0]?.event.payload as { summary: string }).summary, /fails on 1 bucket \(account/);
  });

  it("closes the group once when its last two members pass at once in two lanes", async () => {
    await handler()(sqsEvent([body([bucket("billing-archive", 10), bucket("billing-logs", 10)])]));
    const [standard, resolves] = [handler(), handler()];
    const responses = await Promise.all([
      standard(sqsEvent([body([bucket("billing-archive", 11, true)])])),
      resolves(sqsEvent([body([bucket("billing-logs", 11, true)])])),
    ]);
    // A lane that found the other's close in flight hands its record back; it comes back and finds it done.
    for (const [index, response] of responses.entries())
      if (failures(response).length > 0)
        await [standard, resolves][index]?.(
          sqsEvent([body([bucket(index === 0 ? "billing-archive" : "billing-logs", 11, true)])]),
        );
    assert.deepEqual(accepted(), ["trigger", "resolve"]);
    assert.deepEqual(world.pagerduty.model.openAlerts(), []);
  });

  it("moves a member that turns CRITICAL out of its group, to an alert of its own, and back when it falls to HIGH", async () => {
    const run = handler();
    await run(sqsEvent([body([bucket("billing-archive", 10)])]));
    const critical = { ...bucket("billing-archive", 11), Severity: { Label: "CRITICAL" } };
    await run(sqsEvent([body([critical])]));
    // The group it leaves closes (it was its only member), its own alert opens at CRITICAL.
    assert.deepEqual(accepted(), ["trigger", "resolve", "trigger"]);
    const [own] = world.pagerduty.model.openAlerts();
    assert.equal((own?.event.payload as { severity: string }).severity, "critical");
    assert.doesNotMatch(String(own?.dedupKey), /group/);
    await run(sqsEvent([body([bucket("billing-archive", 12)])]));
    assert.deepEqual(accepted(), ["trigger", "resolve", "trigger", "resolve", "trigger"]);
    assert.match(String(world.pagerduty.model.openAlerts()[0]?.dedupKey), /^securityhub-group-/);
    assert.equal(world.pagerduty.model.openAlerts().length, 1);
  });

  it("closes the group a member leaves for a CRITICAL page with that page's place in the key's schedule", async () => {
    // What each send took from the key's schedule: a CRITICAL page's slot is counted in the run of urgent ones.
    const schedule = createMemoryPacingStore();
    const slots: PacingState[] = [];
    const pacingStore: PacingStore = {
      async swap(id, expected, next) {
        const result = await schedule.swap(id, expected, next);
        if (result.ok) slots.push(next);
        return result;
      },
    };
    for (const criticalAlone of [true, false]) {
      const run = world.handler({ pacingStore }, { grouping: { ...BY_CONTROL, criticalAlone } });
      const name = `billing-${String(criticalAlone)}`;
      await run(sqsEvent([body([bucket(name, 10)])]));
      await run(sqsEvent([body([{ ...bucket(name, 11), Severity: { Label: "CRITICAL" } }])]));
    }
    // Each time: the HIGH group's page, then its close and the CRITICAL page (its own alert, or its CRITICAL group's).
    assert.deepEqual(accepted(), ["trigger", "resolve", "trigger", "trigger", "resolve", "trigger"]);
    assert.deepEqual(
      slots.map((slot) => (slot.urgentRun === undefined ? "normal" : "urgent")),
      ["normal", "urgent", "urgent", "normal", "urgent", "urgent"],
      "the close goes first with the page it makes way for",
    );
  });

  it("keeps a CRITICAL finding's alert its own, and a page by hand pages that finding alone", async () => {
    const critical = { ...bucket("billing-archive", 10), Severity: { Label: "CRITICAL" } };
    await handler()(sqsEvent([body([critical, bucket("billing-logs", 10)])]));
    const keys = new Set(world.pagerduty.model.accepted().map((event) => event.dedupKey));
    assert.equal(keys.size, 2, "the CRITICAL finding's own alert, and the group's");
    // "Page on-call" on the group's member: its own alert, which closes with the finding.
    const member = bucket("billing-logs", 10);
    await handler()(
      sqsEvent([
        JSON.stringify({
          ...importedEvent([member]),
          "detail-type": "Security Hub Findings - Custom Action",
          detail: { actionName: "Page on-call", findings: [member] },
        }),
      ]),
    );
    assert.equal(world.pagerduty.model.openAlerts().length, 3);
    await handler()(sqsEvent([body([bucket("billing-logs", 11, true)])]));
    assert.deepEqual(
      world.pagerduty.model
        .openAlerts()
        .map((alert) => (alert.event.payload as { severity: string }).severity),
      ["critical"],
    );
  });
});
