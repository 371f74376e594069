import assert from "assert/strict";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { alertKeyOf, type Grouping } from "../handler/finding/control";
import { dedupKeyOf } from "../handler/finding/mapping";
import { applyMemberEvent, settleGroup, type GroupStore } from "../handler/state/groupStore";
import { RESOLVED_MEMORY_MS } from "../handler/state/alerts";
import { createDynamoGroupStore } from "../handler/state/dynamo";
import type { MemberContext, MemberEvent } from "../handler/state/groups";
import { electricEyeFinding, passedReimport } from "../tools/simulation/findings";
import { startDynalite, type DynamoDbEmulator } from "./support/dynalite";
import { asFinding } from "./support/fixtures";

// A group's record in DynamoDB (dynalite), each write over the version read: ElectricEye's real S3.1 finding on
// three buckets of one account.

const TABLE = "state";
const BY_CONTROL: Grouping = { per: "control", fields: ["account"], criticalAlone: true };
const BUCKETS = ["billing-archive", "billing-logs", "billing-replica"];

function member(bucket: string, passed = false): MemberEvent {
  const raw = electricEyeFinding("s3-encryption-high", bucket, "111122223333");
  const finding = asFinding(passed ? passedReimport(raw) : raw);
  return {
    member: dedupKeyOf(finding.productArn, finding.id),
    action: passed ? "resolve" : "trigger",
    severity: finding.severity.label,
  };
}
const GROUP = alertKeyOf(
  asFinding(electricEyeFinding("s3-encryption-high", "billing-archive", "111122223333")),
  BY_CONTROL,
);

const NOW = Date.parse("2026-03-02T10:00:00Z");
const CONTEXT: MemberContext = { now: NOW, claimUntil: NOW + 60_000, resources: [] };

/** A member's event applied, and what it claimed to send confirmed as sent. */
async function apply(store: GroupStore, event: MemberEvent, confirmOn = store) {
  const decision = await applyMemberEvent(store, event, GROUP, CONTEXT);
  if (decision.send !== "nothing" && decision.send !== "wait")
    await settleGroup(confirmOn, decision.next, { sent: true }, NOW);
  return decision;
}

/** Every get waits until `readers` gets have been made: members deciding at once, on the same version. */
function atOnce(store: GroupStore, readers: number): GroupStore {
  let waiting: (() => void)[] = [];
  return {
    async get(key) {
      const state = await store.get(key);
      if (waiting.length + 1 < readers) await new Promise<void>((resolve) => waiting.push(resolve));
      else {
        for (const release of waiting) release();
        waiting = [];
        readers = 0;
      }
      return state;
    },
    put: (next, expected, now) => store.put(next, expected, now),
  };
}

describe("a group's record in the state table (DynamoDB in dynalite)", () => {
  let emulator: DynamoDbEmulator;
  let store: GroupStore;
  before(async () => {
    emulator = await startDynalite([TABLE]);
    store = createDynamoGroupStore(
      new DynamoDBClient({
        endpoint: emulator.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" },
      }),
      TABLE,
    );
  });
  after(() => emulator.close());

  it("opens with the first failing bucket, grows without a word, closes once when the last two pass at once, and opens again", async () => {
    const sent: string[] = [];
    for (const bucket of BUCKETS) sent.push((await apply(store, member(bucket))).send);
    assert.deepEqual(sent, ["trigger", "nothing", "nothing"]);
    const grown = await store.get(GROUP);
    assert.equal(Object.keys(grown?.members ?? {}).length, 3);
    assert.equal(grown?.version, 4, "opened and claimed, confirmed, then two joins");
    assert.equal(grown?.claim, undefined);
    assert.equal((await apply(store, member("billing-logs"))).send, "nothing");
    assert.equal((await store.get(GROUP))?.version, 4, "an unchanged rescan writes nothing");

    assert.equal((await apply(store, member("billing-archive", true))).send, "nothing");
    // The last two pass in two lanes: both read version 5; the one written second decides again and closes it.
    const racing = atOnce(store, 2);
    const both = await Promise.all(
      ["billing-logs", "billing-replica"].map((bucket) => apply(racing, member(bucket, true), store)),
    );
    assert.deepEqual(both.map((decision) => decision.send).sort(), ["nothing", "resolve"]);
    const closed = await store.get(GROUP);
    assert.equal(closed?.status, "resolved");
    assert.deepEqual(closed?.members, {});
    assert.equal(closed?.version, 8);
    // A closed group is forgotten a week later by the table's TTL, as a finding's resolved alert is; an open one never.
    const expiry = async () => (await emulator.item(TABLE, `group#${GROUP}`))?.expiresAt?.N;
    assert.equal(await expiry(), String(Math.floor((NOW + RESOLVED_MEMORY_MS) / 1000)));

    const again = await applyMemberEvent(store, member("billing-replica"), GROUP, CONTEXT);
    assert.equal(again.send, "trigger");
    assert.equal(again.send === "trigger" ? again.change : undefined, "reopen");
    assert.equal((await emulator.item(TABLE, `group#${GROUP}`))?.version?.N, "9");
    assert.equal(await expiry(), undefined, "open again: kept");
  });

  it("sends a claimed event again when its sender never confirmed it, and makes others wait while the claim holds", async () => {
    const other = `${GROUP}-claims`;
    const opened = await applyMemberEvent(store, member("billing-archive"), other, CONTEXT);
    assert.equal(opened.send, "trigger");
    // The sender crashed before its request: while its claim holds, a change that would send waits ...
    const pass = await applyMemberEvent(store, member("billing-archive", true), other, CONTEXT);
    assert.equal(pass.send, "wait");
    // ... a join that sends nothing is written, keeping the claim ...
    assert.equal((await applyMemberEvent(store, member("billing-logs"), other, CONTEXT)).send, "nothing");
    // ... and once the claim expired, the next member's event sends the recorded status again.
    const later = { ...CONTEXT, now: CONTEXT.claimUntil + 1, claimUntil: CONTEXT.claimUntil + 60_000 };
    const owed = await applyMemberEvent(store, member("billing-logs"), other, later);
    assert.deepEqual([owed.send, owed.send === "trigger" ? owed.change : ""], ["trigger", "retry"]);
    if (owed.send === "trigger") await settleGroup(store, owed.next, { sent: true }, later.now);
    assert.equal((await store.get(other))?.claim, undefined);
    assert.equal(Object.keys((await store.get(other))?.members ?? {}).length, 2);
  });
});
