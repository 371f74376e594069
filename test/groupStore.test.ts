import assert from "assert/strict";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { alertKeyOf, type Grouping } from "../handler/finding/control";
import { dedupKeyOf } from "../handler/finding/mapping";
import { applyMemberEvent, createDynamoGroupStore, type GroupStore } from "../handler/state/groupStore";
import type { MemberEvent } from "../handler/state/groups";
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
    put: (next, expected) => store.put(next, expected),
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
    for (const bucket of BUCKETS) sent.push((await applyMemberEvent(store, member(bucket), GROUP)).send);
    assert.deepEqual(sent, ["trigger", "nothing", "nothing"]);
    const grown = await store.get(GROUP);
    assert.equal(Object.keys(grown?.members ?? {}).length, 3);
    assert.equal(grown?.version, 3);
    assert.equal((await applyMemberEvent(store, member("billing-logs"), GROUP)).send, "nothing");
    assert.equal((await store.get(GROUP))?.version, 3, "an unchanged rescan writes nothing");

    assert.equal((await applyMemberEvent(store, member("billing-archive", true), GROUP)).send, "nothing");
    // The last two pass in two lanes: both read version 4; the one written second decides again and closes it.
    const racing = atOnce(store, 2);
    const both = await Promise.all(
      ["billing-logs", "billing-replica"].map((bucket) =>
        applyMemberEvent(racing, member(bucket, true), GROUP),
      ),
    );
    assert.deepEqual(both.map((decision) => decision.send).sort(), ["nothing", "resolve"]);
    const closed = await store.get(GROUP);
    assert.equal(closed?.status, "resolved");
    assert.deepEqual(closed?.members, {});
    assert.equal(closed?.version, 6);

    const again = await applyMemberEvent(store, member("billing-replica"), GROUP);
    assert.equal(again.send, "trigger");
    assert.equal(again.send === "trigger" ? again.change : undefined, "reopen");
    assert.equal((await emulator.item(TABLE, `group#${GROUP}`))?.version?.N, "7");
  });
});
