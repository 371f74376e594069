import assert from "assert/strict";
import { T0, alertEvent as event } from "./support/alertEvents";
import fc from "fast-check";
import { factOfEvent } from "../handler/state/alerts";
import {
  FACTS_KEPT,
  FACT_KINDS,
  heldOf,
  openOf,
  withFact,
  type Fact,
  type FactKind,
} from "../handler/state/history";

// A finding's history decides whether its alert is open: the same facts, heard in any order, give the same answer.

const DAY = 24 * 3600_000;

/** Facts one second apart, in the order given. */
function history(...kinds: FactKind[]): Fact[] {
  return kinds.reduce<Fact[]>(
    (facts, kind, index) =>
      withFact(facts, {
        at: T0 + index * 1_000,
        kind,
        ...(kind === "resolved" || kind === "reopened" ? {} : { format: "asff" as const }),
      }),
    [],
  );
}

describe("a finding's history", () => {
  it("holds a finding a responder resolved while it failed within the filter, until it passes or the responder reopens", () => {
    const cases: [FactKind[], { open: boolean; held: boolean }][] = [
      [["failing"], { open: true, held: false }],
      [["failing", "resolved"], { open: false, held: true }],
      [["failing", "resolved", "failing"], { open: false, held: true }],
      [["failing", "resolved", "below", "failing"], { open: false, held: true }],
      [["failing", "resolved", "closed", "failing"], { open: false, held: true }],
      [["failing", "resolved", "passed", "failing"], { open: true, held: false }],
      [["failing", "resolved", "suppressed", "failing"], { open: true, held: false }],
      [["failing", "suppressed", "resolved", "failing"], { open: true, held: false }],
      [["failing", "resolved", "reopened"], { open: true, held: false }],
      [["failing", "resolved", "reopened", "resolved"], { open: false, held: true }],
      // Not failing within the filter when the responder resolved: the resolution holds nothing.
      [["failing", "below", "resolved", "failing"], { open: true, held: false }],
      [["failing", "closed", "resolved", "failing"], { open: true, held: false }],
      [["failing", "passed", "resolved", "failing"], { open: true, held: false }],
      // Reopened while the finding is below the filter: the alert is to be closed.
      [["failing", "below", "resolved", "reopened"], { open: false, held: false }],
      [["failing", "resolved", "below", "reopened"], { open: false, held: false }],
    ];
    for (const [kinds, expected] of cases)
      assert.deepEqual(
        { open: openOf(history(...kinds)), held: heldOf(history(...kinds)) },
        expected,
        kinds.join(", "),
      );
  });

  it("is the same whichever order its facts are heard in", () => {
    const fact = fc
      .record({
        at: fc.integer({ min: 0, max: 20 }).map((second) => T0 + second * 1_000),
        kind: fc.constantFrom(...FACT_KINDS),
      })
      .map((one): Fact =>
        one.kind === "resolved" || one.kind === "reopened" ? one : { ...one, format: "asff" },
      );
    // Facts of one millisecond included: a workflow change dated by the import it was made on.
    const heard = fc
      .uniqueArray(fact, { maxLength: 12, selector: (one) => `${one.at} ${one.kind}` })
      .chain((facts) =>
        fc.tuple(
          fc.constant(facts),
          fc.shuffledSubarray(facts, { minLength: facts.length, maxLength: facts.length }),
        ),
      );
    const heardIn = (facts: Fact[]) => facts.reduce<Fact[]>((known, one) => withFact(known, one), []);
    fc.assert(
      fc.property(heard, ([facts, reordered]) => {
        assert.deepEqual(heardIn(reordered), heardIn(facts));
      }),
      { seed: 18, numRuns: 1_000 },
    );
  });

  it("stays a few facts long while a finding fails scan after scan, and keeps the newest when it changes often", () => {
    // Daily scans of a finding that keeps failing: the scans of the last week stay, a fact of a day may still come.
    let steady: Fact[] = [];
    for (let scan = 0; scan < 100; scan += 1)
      steady = withFact(steady, { at: T0 + scan * DAY, kind: "failing", format: "asff" });
    assert.deepEqual(
      steady.map((fact) => (fact.at - T0) / DAY),
      [0, 92, 93, 94, 95, 96, 97, 98, 99],
    );
    let changing: Fact[] = [];
    for (let scan = 0; scan < FACTS_KEPT + 5; scan += 1)
      changing = withFact(changing, {
        at: T0 + scan * 1_000,
        kind: scan % 2 === 0 ? "failing" : "below",
        format: "asff",
      });
    assert.equal(changing.length, FACTS_KEPT);
    assert.equal(changing[0]?.at, T0 + 5_000);
    assert.equal(withFact(changing, changing.at(-1)).length, FACTS_KEPT, "a fact already known adds nothing");
  });

  it("keeps a responder's hold however often the finding is scanned since", () => {
    let facts = history("failing", "resolved");
    for (let scan = 1; scan <= 200; scan += 1)
      facts = withFact(facts, { at: T0 + 1_000 + scan * 3_600_000, kind: "failing", format: "asff" });
    assert.ok(facts.length <= FACTS_KEPT);
    assert.equal(heldOf(facts), true, "hourly scans for over a week leave the hold in place");
    facts = withFact(facts, { at: T0 + 300 * 3_600_000, kind: "passed", format: "asff" });
    facts = withFact(facts, { at: T0 + 301 * 3_600_000, kind: "failing", format: "asff" });
    assert.equal(openOf(facts), true, "a pass after it ends it");
  });

  it("takes an import's own fact over one inferred from the stack's echo of it", () => {
    const inferred = withFact([], { at: T0, kind: "failing", format: "asff", inferred: true });
    assert.equal(openOf(inferred), true);
    const own = withFact(inferred, { at: T0, kind: "passed", format: "asff" });
    assert.deepEqual(own, [{ at: T0, kind: "passed", format: "asff" }]);
    assert.deepEqual(withFact(own, { at: T0, kind: "failing", format: "asff", inferred: true }), own);
  });
});

describe("what an event says of the finding (factOfEvent)", () => {
  const resolution: Fact = { at: T0 + 2_000, kind: "resolved" };
  const written: Fact = { at: T0 + 2_000, kind: "resolvedWritten" };

  it("dates an import by its UpdatedAt, and a person's workflow change by their note", () => {
    assert.deepEqual(factOfEvent(event({})), { at: T0, kind: "failing", format: "asff" });
    assert.deepEqual(factOfEvent(event({ action: "resolve", passed: true })), {
      at: T0,
      kind: "passed",
      format: "asff",
    });
    assert.deepEqual(factOfEvent(event({ action: "resolve", below: true, format: "ocsf" })), {
      at: T0,
      kind: "below",
      format: "ocsf",
    });
    const console = event({ action: "resolve", passed: true, workflow: true, notedAt: T0 + 1_500 });
    assert.deepEqual(factOfEvent(console), { at: T0 + 1_500, kind: "suppressed", format: "asff" });
    // A re-import that keeps a SUPPRESSED set before it shows the finding suppressed at its own UpdatedAt.
    const kept = event({ action: "resolve", passed: true, workflow: true, notedAt: T0 - 5_000 });
    assert.deepEqual(factOfEvent(kept), { at: T0, kind: "suppressed", format: "asff" });
    assert.equal(factOfEvent(event({ manual: true })), undefined, "a page by hand is no fact of the finding");
  });

  it("takes the stack's own writes for no change of the finding: only what its product says", () => {
    const echo = event({ stackNoted: true, notedAt: T0 + 3_000 });
    assert.deepEqual(factOfEvent(echo), { at: T0, kind: "failing", format: "asff", inferred: true });
    const stackResolved = event({ action: "resolve", stackNoted: true, notedAt: T0 + 3_000, workflow: true });
    assert.deepEqual(factOfEvent(stackResolved, [resolution, written]), {
      at: T0,
      kind: "failing",
      format: "asff",
      inferred: true,
    });
    // A re-import that keeps the stack's RESOLVED of the responder's resolution: the product still fails.
    const reimport = event({
      action: "resolve",
      updatedAt: T0 + 9_000,
      stackNoted: true,
      notedAt: T0 + 3_000,
      workflow: true,
    });
    assert.equal(factOfEvent(reimport, [resolution, written])?.kind, "failing");
    // With no RESOLVED written by the stack (none, or a resolution that held nothing), it is a person's, under a
    // note of the stack's.
    assert.deepEqual(factOfEvent(reimport, [resolution]), { at: T0 + 9_000, kind: "closed", format: "asff" });
    // So it is after a person's close since the stack's write, or when a person had closed the finding before it.
    const since: Fact = { at: T0 + 4_000, kind: "closed", format: "asff" };
    assert.equal(factOfEvent(reimport, [resolution, written, since])?.kind, "closed");
    const suppressed: Fact = { at: T0 + 4_000, kind: "suppressed", format: "asff" };
    assert.equal(factOfEvent(reimport, [resolution, written, suppressed])?.kind, "closed");
    // Or when a person had suppressed it before (the page's NOTIFIED, written blindly, replaced their SUPPRESSED).
    const suppressedBefore: Fact = { at: T0 + 1_000, kind: "suppressed", format: "asff" };
    assert.equal(factOfEvent(reimport, [suppressedBefore, resolution, written])?.kind, "closed");
    // A pass of its product before the write is no person's: the RESOLVED on a failure after it is the stack's.
    const passedBefore: Fact = { at: T0 + 1_000, kind: "passed", format: "asff" };
    assert.equal(factOfEvent(reimport, [passedBefore, resolution, written])?.kind, "failing");
    const before: Fact = { at: T0 + 1_000, kind: "closed", format: "asff" };
    assert.equal(factOfEvent(reimport, [before, resolution, written])?.kind, "closed");
    // The echo of a note of the stack's (an acknowledgement's) on a finding a person closed: their own event dates it.
    const covered = event({ action: "resolve", stackNoted: true, notedAt: T0 + 3_000, workflow: true });
    assert.equal(factOfEvent(covered, []), undefined);
    // The echo of a pass is the pass.
    const pass = event({ action: "resolve", passed: true, stackNoted: true, notedAt: T0 + 3_000 });
    assert.deepEqual(factOfEvent(pass), { at: T0, kind: "passed", format: "asff" });
  });
});
