import assert from "assert/strict";
import { runBench } from "../tools/bench";
import { RESCAN_FORMATS, runRescan } from "../tools/simulation/rescan";
import { SCENARIOS } from "../tools/simulation/scenarios";

// Small runs that keep the benchmark working and hold it to its promise: nothing is lost. Speed and rate
// figures come from `npm run bench`, not from tests.

describe("the delivery benchmark (small runs)", () => {
  for (const scenario of SCENARIOS) {
    it(`loses nothing in ${scenario}`, async () => {
      const { report } = await runBench({
        scenario,
        findings: 200,
        keys: 2,
        stack: "prod",
        config: {},
        seed: 7,
      });
      assert.equal(report.lost, 0);
      assert.equal(report.filteredOut, 0);
      assert.equal(report.delivered + report.deadLettered, report.findings);
      if (scenario === "malformed") {
        assert.equal(report.deadLettered, 10, "exactly the broken records, 5%");
        assert.deepEqual(Object.values(report.deadLetterReasons).sort(), [2, 2, 3, 3]);
      } else {
        assert.equal(report.deadLettered, 0, "nothing reaches the dead-letter queue");
      }
      if (scenario === "critical-during-burst") assert.equal(report.timeToPageSeconds.critical?.count, 20);
    });
  }

  it("loses nothing with priority lanes switched off", async () => {
    const { report } = await runBench({
      scenario: "critical-during-burst",
      findings: 200,
      keys: 1,
      stack: "prod",
      config: { priorityLanes: "false" },
      seed: 7,
    });
    assert.deepEqual(report.settings.lanes, ["standard"]);
    assert.equal(report.lost, 0);
  });

  it("counts findings the stack's rules do not admit as filtered out, not lost", async () => {
    const { report } = await runBench({
      scenario: "critical-during-burst",
      findings: 100,
      keys: 1,
      stack: "dev",
      config: {},
      seed: 7,
    });
    assert.equal(report.filteredOut, 100, "dev pages on CRITICAL only");
    assert.equal(report.delivered, 20);
    assert.equal(report.lost, 0);
  });
});

describe("the rescan benchmark (small run)", () => {
  for (const format of RESCAN_FORMATS)
    it(`sends PagerDuty only the alert changes of each rescan, no resolve for what never paged, and loses nothing (${format})`, async () => {
      const report = await runRescan({ findings: 1000, format, stack: "prod", config: {}, seed: 7 });
      const [first, ...rescans] = report.scans;
      assert.equal(report.scans.length, 3);
      assert.equal(first?.resolvesSent, 0, "scan 1 sends no resolve for a finding that never paged");
      assert.equal(first?.pagerdutyRequests, first?.stateChanges);
      for (const scan of rescans) {
        assert.ok(scan.stateChanges > 0, "the churn changes some alerts");
        assert.ok(scan.pagerdutyRequests <= scan.stateChanges, JSON.stringify(scan));
      }
      assert.ok((report.timeToPageSeconds.newDuringRescan?.count ?? 0) > 0);
      assert.ok((report.timeToPageSeconds.newDuringRescan?.p99 ?? Infinity) <= 60);
      assert.equal(report.openAlertsAtEnd, report.openAlertsExpected);
      assert.equal(report.wrongAlertsAtEnd, 0);
      assert.equal(report.lost, 0);
    });
});
