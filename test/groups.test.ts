import assert from "assert/strict";
import { alertKeyOf, type Grouping } from "../handler/finding/control";
import { dedupKeyOf } from "../handler/finding/mapping";
import {
  GROUP_BOUNDS,
  decideGroup,
  failingOf,
  memberDigest,
  resolvedByResponder,
  type GroupState,
  type MemberEvent,
} from "../handler/state/groups";
import { electricEyeFinding, passedReimport } from "../tools/simulation/findings";
import { asFinding } from "./support/fixtures";

const BY_CONTROL: Grouping = { per: "control", fields: ["account"], criticalAlone: false };

/** Members of one group: ElectricEye's real S3.1 finding on several buckets of one account. */
function member(bucket: string, passed = false): MemberEvent & { group: string } {
  const raw = electricEyeFinding("s3-encryption-high", bucket, "111122223333");
  const finding = asFinding(passed ? passedReimport(raw) : raw);
  return {
    group: alertKeyOf(asFinding(raw), BY_CONTROL),
    member: dedupKeyOf(finding.productArn, finding.id),
    action: passed ? "resolve" : "trigger",
    severity: finding.severity.label,
  };
}

/** Applies events in order, as the conditional writes would, and lists what was sent. */
function run(events: (MemberEvent & { group: string })[], start?: GroupState) {
  let state = start;
  const sent: string[] = [];
  for (const event of events) {
    const decision = decideGroup(state, event, event.group);
    if (decision.send !== "nothing") sent.push(`${decision.send}:${decision.next.status}`);
    if (decision.next !== undefined) state = decision.next;
  }
  return { state, sent };
}

describe("a group's lifecycle", () => {
  it("opens with its first failing member, grows and shrinks without a word, and closes with its last", () => {
    const buckets = ["billing-archive", "billing-logs", "billing-replica"];
    const opened = run(buckets.map((bucket) => member(bucket)));
    assert.deepEqual(opened.sent, ["trigger:open"]);
    assert.equal(Object.keys(opened.state?.members ?? {}).length, 3);
    // An unchanged rescan sends nothing and writes nothing.
    const rescan = decideGroup(opened.state, member("billing-logs"), member("billing-logs").group);
    assert.deepEqual([rescan.send, rescan.next], ["nothing", undefined]);
    const shrunk = run([member("billing-archive", true), member("billing-logs", true)], opened.state);
    assert.deepEqual(shrunk.sent, []);
    assert.equal(shrunk.state?.status, "open");
    const closed = run([member("billing-replica", true)], shrunk.state);
    assert.deepEqual(closed.sent, ["resolve:resolved"]);
    assert.deepEqual(closed.state?.members, {});
  });

  it("opens again when a member fails after the group was resolved", () => {
    const closed = run([member("a"), member("a", true)]);
    assert.deepEqual(run([member("a")], closed.state).sent, ["trigger:open"]);
  });

  it("does not absorb a CRITICAL member joining a HIGH group: one update with the new highest severity", () => {
    const high = run([member("a"), member("b")]);
    const critical = { ...member("c"), severity: "CRITICAL" as const };
    const escalated = decideGroup(high.state, critical, critical.group);
    assert.equal(escalated.send, "update");
    assert.equal(escalated.next?.paged, "CRITICAL");
  });

  it("leaves the group closed whichever of two members passing at once writes first", () => {
    const open = run([member("a"), member("b")]).state as GroupState;
    for (const order of [
      ["a", "b"],
      ["b", "a"],
    ] as const) {
      // Both read the same version; the second write fails its condition and decides again on the first's record.
      const first = decideGroup(open, member(order[0], true), open.dedupKey);
      const lost = decideGroup(open, member(order[1], true), open.dedupKey);
      assert.equal(lost.next?.version, first.next?.version, "same version: only one write can win");
      const again = decideGroup(first.next, member(order[1], true), open.dedupKey);
      assert.deepEqual([first.send, again.send, again.next?.status], ["nothing", "resolve", "resolved"]);
    }
  });

  it("holds re-pages for the members a responder resolved, until one passes and fails again", () => {
    const open = run([member("a"), member("b")]).state as GroupState;
    const held = resolvedByResponder(open);
    assert.deepEqual(run([member("a"), member("b")], held).sent, []);
    const regressed = run([member("a", true), member("a")], held);
    assert.deepEqual(regressed.sent, ["trigger:open"]);
  });
});

describe("a group's record size", () => {
  it("lists members up to a bound, counts the next ones exactly by digest, and records none past both", () => {
    const bounds = { listed: 2, counted: 2 };
    let state: GroupState | undefined;
    const sent: string[] = [];
    const apply = (event: MemberEvent & { group: string }) => {
      const decision = decideGroup(state, event, event.group, bounds);
      if (decision.send !== "nothing") sent.push(decision.send);
      if (decision.next !== undefined) state = decision.next;
    };
    const names = ["a", "b", "c", "d", "e"];
    for (const name of names) apply(member(name));
    assert.equal(Object.keys(state?.members ?? {}).length, 2);
    assert.equal(state?.unlisted?.length, 2);
    assert.equal(state === undefined ? 0 : failingOf(state), 4, "the fifth is not recorded");
    // A counted member's repeated pass counts it out once.
    apply(member("c", true));
    apply(member("c", true));
    assert.equal(state === undefined ? 0 : failingOf(state), 3);
    for (const name of ["a", "b", "d"]) apply(member(name, true));
    assert.deepEqual(sent, ["trigger", "resolve"]);
  });

  it("stays below DynamoDB's 400 KB item at its bounds, with real finding identities", () => {
    const members: GroupState["members"] = {};
    const findings: NonNullable<GroupState["findings"]> = {};
    for (let index = 0; index < GROUP_BOUNDS.listed; index += 1) {
      const event = member(`billing-archive-with-a-long-bucket-name-${index}`);
      members[event.member] = event.severity;
      findings[event.member] = {
        id: `arn:aws:s3:::billing-archive-with-a-long-bucket-name-${index}/s3-bucket-encryption-check`,
        format: "asff",
        productArn: `arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default`,
      };
    }
    const unlisted = Array.from({ length: GROUP_BOUNDS.counted }, (_, index) =>
      memberDigest(`member-${index}`),
    );
    const record: GroupState = {
      dedupKey: "securityhub-group-x",
      status: "open",
      members,
      findings,
      unlisted,
      version: 1,
    };
    const bytes = Buffer.byteLength(JSON.stringify(record));
    assert.ok(bytes < 350_000, `${bytes} bytes`);
  });
});
