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
    resolutions: [],
    writeBacksLeft: [],
    consoleChanges: [],
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
    // With --logs the replay also shows why each record went as it did, and each state the alert passed through.
    const logged = await explore({ runs: 1, seed: report.seed, path: report.path, logs: true, ...options });
    assert.ok(!report.trace.some((line) => / (delivery info|state id=)/.test(line)));
    assert.ok(logged.trace?.some((line) => / delivery info: finding outcome .*"alert":"new"/.test(line)));
    assert.ok(logged.trace?.some((line) => / state id="alert#.* status="open"/.test(line)));
  });

  it("replays a shrunk run whose interleaving matters, alone in a fresh check, as it was reported", async () => {
    // Every behaviour, so that the shrunk run's calls interleave: each of its shrink candidates must have drawn
    // the interleaving its path gives on its own, not one that depended on the candidates run before it.
    const options = { behaviours: BEHAVIOURS, config: { "electriceye-pagerduty:resolveRule": "false" } };
    const report = await explore({ runs: 100, seed: 1, ...options });
    assert.equal(report.violations, 1);
    assert.ok(report.steps !== undefined && report.steps.length > 1, String(report.steps));
    assert.ok(report.trace?.some((line) => / starts: webhook /.test(line)));
    const replayed = await explore({ runs: 1, seed: report.seed, path: report.path, ...options });
    assert.deepEqual(
      { path: replayed.path, invariants: replayed.invariants, steps: replayed.steps, trace: replayed.trace },
      { path: report.path, invariants: report.invariants, steps: report.steps, trace: report.trace },
    );
  });

  it("excuses a resolve that changed nothing only after a responder's resolution since PagerDuty's last accepted request", () => {
    const request = (at: number, action: string, change: "opened" | "resolved" | "none") => ({
      at,
      dedupKey: "k1",
      action,
      status: 202 as const,
      change,
      unheard: false,
    });
    const requests = [request(1, "trigger", "opened"), request(5, "resolve", "none")];
    const seen = (resolutions: Observation["resolutions"]) =>
      checkInvariants({ ...observation([member("a", "k1", false)], []), requests, resolutions }, "settled");
    assert.deepEqual(seen([{ at: 5, dedupKey: "k1" }]), [], "the responder resolved it at the same moment");
    assert.equal(seen([{ at: 0, dedupKey: "k1" }]).length, 1, "a resolution before the page excuses nothing");
    assert.equal(seen([]).length, 1);
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

  it("takes a page's write-back left to a person as written only when a person changed the finding since the page began and the function said it left it", () => {
    // Paged by invocation 1 (from 1,000 ms), accepted at 1,500 ms; nothing written back.
    const base = {
      ...observation(
        [member("s3", "k3", true)],
        [{ dedupKey: "k3", incidentId: "Q1", open: true, openedAt: 1_500, resolvedByResponder: false }],
      ),
      securityHubSync: true,
      requests: [
        {
          at: 1_500,
          dedupKey: "k3",
          action: "trigger",
          status: 202 as const,
          change: "opened" as const,
          unheard: false,
          sender: 1,
        },
      ],
      invocations: [{ id: 1, from: 1_000, to: 2_000 }],
    };
    const missing = ["s3: incident Q1 is open, its page never written back to Security Hub"];
    const person = { at: 1_200, dedupKey: "k3" };
    const left = { at: 3_000, dedupKey: "k3" };
    assert.deepEqual(checkInvariants(base, "rescanned"), missing);
    assert.deepEqual(checkInvariants({ ...base, consoleChanges: [person] }, "rescanned"), missing);
    assert.deepEqual(checkInvariants({ ...base, writeBacksLeft: [left] }, "rescanned"), missing);
    const before = { ...person, at: 900 };
    assert.deepEqual(
      checkInvariants({ ...base, consoleChanges: [before], writeBacksLeft: [left] }, "rescanned"),
      missing,
    );
    assert.deepEqual(
      checkInvariants({ ...base, consoleChanges: [person], writeBacksLeft: [left] }, "rescanned"),
      [],
    );
  });
});
