import assert from "assert/strict";
import { BEHAVIOURS, explore, type Behaviour } from "../tools/lifecycle/explorer";
import { checkInvariants, type Member, type Observation } from "../tools/lifecycle/invariants";

function observation(members: Member[], alerts: Observation["alerts"]): Observation {
  return {
    members,
    alerts,
    requests: [],
    webhooks: [],
    unexplainedRecords: [],
    securityHubUpdates: [],
    securityHubSync: false,
    stopped: [],
    reopenings: [],
    start: 0,
    invocations: [],
  };
}

const member = (name: string, dedupKey: string, failing: boolean, held = false): Member => ({
  name,
  dedupKey,
  failing,
  held,
  findingIds: [name],
  writable: true,
});

describe("the lifecycle under every interleaving (check:lifecycle)", () => {
  it("holds over 300 random runs of the real handler, webhook function and stores", async () => {
    const report = await explore({ runs: 300, seed: 7, behaviours: BEHAVIOURS });
    assert.equal(report.violations, 0, JSON.stringify(report, null, 2));
    assert.equal(report.runs, 300);
  });

  it("shrinks a violation to its few steps and prints how to replay it", async () => {
    // Without the resolve rule (resolveRule false) nothing closes an alert once its finding passes.
    const options = {
      behaviours: [] as Behaviour[],
      config: { "electriceye-pagerduty:resolveRule": "false" },
    };
    const report = await explore({ runs: 2000, seed: 1, ...options });
    assert.equal(report.violations, 1);
    assert.match(report.invariants?.[0] ?? "", /alert left open, though .* not failing/);
    assert.ok((report.steps?.length ?? 99) <= 3, String(report.steps));
    assert.ok(report.path !== undefined && report.trace !== undefined && report.trace.length > 0);
    const replayed = await explore({ runs: 1, seed: report.seed, path: report.path, ...options });
    assert.deepEqual(replayed.invariants, report.invariants);
  });

  it("expects one alert per group when findings share an alert key, open while any member fails unheld", () => {
    const byControl = (candidate: Member) =>
      candidate.name.startsWith("sqs") ? "SQS.1" : candidate.dedupKey;
    const members = [
      member("sqs-a", "k1", true, true),
      member("sqs-b", "k2", true),
      member("s3", "k3", false),
    ];
    assert.deepEqual(
      checkInvariants(
        observation(members, [
          { dedupKey: "SQS.1", incidentId: "Q1", open: true, openedAt: 0, resolvedByResponder: false },
        ]),
        "settled",
        byControl,
      ),
      [],
    );
    assert.deepEqual(checkInvariants(observation(members, []), "settled", byControl), [
      "sqs-a, sqs-b: no open alert, though sqs-a failing, held by a responder; sqs-b failing",
    ]);
    const held = [member("sqs-a", "k1", true, true), member("s3", "k3", false)];
    assert.deepEqual(
      checkInvariants(
        observation(held, [
          { dedupKey: "SQS.1", incidentId: "Q1", open: true, openedAt: 0, resolvedByResponder: false },
          { dedupKey: "SQS.1", incidentId: "Q2", open: true, openedAt: 0, resolvedByResponder: false },
        ]),
        "settled",
        byControl,
      ),
      [
        "sqs-a: 2 open alerts, at most one may be",
        "sqs-a: alert left open, though sqs-a failing, held by a responder",
      ],
    );
  });
});
