import assert from "assert/strict";
import { execFile } from "child_process";
import { join } from "path";
import { promisify } from "util";
import { decide } from "../handler/finding/filter";
import { dedupKeyOf } from "../handler/finding/mapping";
import { planRules } from "../infra/eventPatterns";
import { startPagerDutyStandIn, type PagerDutyStandIn } from "../standins/pagerdutyServer";
import { UsageError } from "../tools/cli";
import { matchesPattern } from "../tools/patternMatcher";
import { importedEvent } from "../tools/simulation/findings";
import { sampleFinding, sampleOcsfFinding } from "../tools/sampleFinding";
import { readStackConfig } from "../config";
import { planSettings } from "../tools/plan";
import { mapConfigSource } from "../tools/stackConfig";
import { stepsFromFile } from "../tools/walk/steps";
import { walk, walkBuiltIn } from "../tools/walk/walk";
import { TEST_DEDUP_KEY, sendTestPage, type TestPageOptions } from "../tools/testPage";
import { FIXTURE_DIR, asFinding } from "./support/fixtures";

const ROOT = join(__dirname, "..");
const stackConfig = (stack: string) => readStackConfig(mapConfigSource(planSettings(stack, {}).settings));
const KEY = "e93facc04764012d7bfb002500d5d1a6";

describe("npm start", () => {
  it("on dev: pages the CRITICAL finding once, sends nothing for its unchanged re-import or a check that never paged, resolves it, and filters HIGH and MEDIUM out", async () => {
    const lines: string[] = [];
    const result = await walkBuiltIn(stackConfig("dev"), (line) => lines.push(line));
    assert.deepEqual(result, {
      paged: 1,
      updated: 0,
      unchanged: 1,
      resolved: 1,
      nothingToResolve: 1,
      filteredOut: 2,
      deadLettered: 0,
      handedBack: 0,
      pagerdutyRequests: 2,
      openAlerts: 0,
      securityHubUpdates: 0,
      webhooksRejected: 0,
    });
    const output = lines.join("\n");
    assert.match(
      output,
      /\[3\/6\] a MEDIUM finding\n.*\n\s+rule "resolutions" → resolve lane → function\n\s+FILTERED OUT by the function: severity MEDIUM is not one of CRITICAL; no alert to resolve, nothing sent/,
    );
    assert.match(output, /\[4\/6\].*\n.*\n.*\n\s+NOTHING TO RESOLVE: it never paged, nothing sent/);
    assert.match(output, /\[5\/6\].*\n.*\n.*\n\s+UNCHANGED: alert #1 still open, nothing sent/);
    assert.match(output, /RESOLVED alert #1: the page closes itself/);
  });

  it("with alertPer: control: a control failing on three buckets opens one incident, two fixed send nothing, the last fixed resolves it", async () => {
    const lines: string[] = [];
    const config = readStackConfig(mapConfigSource(planSettings("prod", { alertPer: "control" }).settings));
    const result = await walkBuiltIn(config, (line) => lines.push(line));
    assert.deepEqual(
      [result.paged, result.resolved, result.pagerdutyRequests, result.openAlerts],
      [1, 1, 2, 0],
    );
    const output = lines.join("\n");
    assert.match(
      output,
      /PAGED: new alert #1.*\n\s+"HIGH: \[S3\.1\] .* fails on 3 buckets \(account 111122223333/,
    );
    const [, fixedTwo = "", fixedLast = ""] = output.split(/\[[23]\/3\]/);
    assert.match(
      fixedTwo,
      /IN ITS GROUP: 2 member\(s\) still fail, nothing sent\n\s+IN ITS GROUP: 1 member\(s\) still fail/,
    );
    assert.match(fixedLast, /RESOLVED alert #1/);
  });

  it("on prod: pages HIGH too, and shows the two-way path: NOTIFIED and notes in Security Hub, acknowledged then resolved by on-call, a forged webhook refused, a MEDIUM finding paged by hand", async () => {
    const lines: string[] = [];
    const result = await walkBuiltIn(stackConfig("prod"), (line) => lines.push(line));
    assert.deepEqual(
      {
        paged: result.paged,
        resolved: result.resolved,
        openAlerts: result.openAlerts,
        requests: result.pagerdutyRequests,
      },
      { paged: 5, resolved: 1, openAlerts: 3, requests: 6 },
    );
    assert.equal(result.securityHubUpdates, 7);
    assert.equal(result.webhooksRejected, 1);
    const output = lines.join("\n");
    assert.equal(
      output.match(/UNCHANGED:/g)?.length,
      result.unchanged,
      "the summary counts every UNCHANGED line shown",
    );
    assert.match(output, /\(compliance FAILED, record ACTIVE, workflow NEW\)/);
    assert.ok(!output.includes('"_aws"'), "metric lines only with --metrics");
    assert.match(output, /The functions wrote \d+ metric line\(s\); --metrics shows them\./);
    // The first deploy's backlog: what the first scan imported inside the window opens at low urgency.
    assert.match(
      output,
      /\[1\/13\] the first deploy's backlog[\s\S]*PAGED: new alert #1, severity warning; low urgency: backlog: imported before /,
    );
    assert.match(output, /PAGED: new alert #3, severity error, one alert for 3 resources/);
    assert.match(
      output,
      /\[2\/13\][\s\S]*SECURITY HUB: Workflow → NOTIFIED; note "Paged on-call through PagerDuty service "Security Hub findings \(prod\)"[\s\S]*Security Hub's own follow-up event: UNCHANGED: alert #2 still open, nothing sent\n/,
    );
    assert.match(output, /SECURITY HUB: note "Acknowledged in PagerDuty by Jo Doe, PagerDuty incident #2: /);
    assert.match(
      output,
      /REFUSED by the webhook endpoint \(HTTP 401\): signature does not match; nothing changed/,
    );
    assert.match(output, /SECURITY HUB: Workflow → RESOLVED; note "Resolved in PagerDuty by Jo Doe/);
    assert.match(
      output,
      /\[10\/13\][\s\S]*ALREADY RESOLVED: a responder resolved its alert in PagerDuty, nothing sent/,
    );
    assert.match(
      output,
      /PAGED: new alert #4, severity error; high urgency: paged by hand\n\s+"\[paged by hand\] MEDIUM: /,
    );
    // Inside support hours HIGH pages at high urgency; at night it opens a low-urgency incident.
    assert.match(
      output,
      /alert #3, severity error, one alert for 3 resources; high urgency: inside support hours/,
    );
    assert.match(
      output,
      /\[13\/13\] at night, outside support hours[\s\S]*PAGED: new alert #5, severity warning; low urgency: outside support hours \(Mon-Fri 09:00-17:00 UTC\)/,
    );
  });

  it("runs a user's findings file through the stack's rules", async () => {
    const steps = stepsFromFile(join(FIXTURE_DIR, "electriceye-s3-public-bucket-policy.json"));
    const result = await walk(stackConfig("dev"), steps, () => undefined);
    assert.equal(result.paged, 1);
    assert.throws(() => stepsFromFile(join(FIXTURE_DIR, "..", "..", "..", "package.json")), UsageError);
  });

  it("runs a file of OCSF findings on a stack whose findingFormats admits them, and says why one that does not refuses them", async () => {
    const file = join(FIXTURE_DIR, "..", "ocsf", "securityhub-v2-inspector-vulnerability-ec2-high-new.json");
    const overrides = { findingFormats: "both", allProducts: "true", products: "[]" };
    const config = readStackConfig(mapConfigSource(planSettings("prod", overrides).settings));
    const lines: string[] = [];
    const result = await walk(config, stepsFromFile(file), (line) => lines.push(line));
    assert.deepEqual([result.paged, result.pagerdutyRequests, result.securityHubUpdates], [1, 1, 1]);
    const output = lines.join("\n");
    assert.match(output, /rule "findings-v2" → standard lane → function\n\s+PAGED: new alert #1/);
    assert.match(
      output,
      /SECURITY HUB: status → In Progress; comment "\[electriceye-pagerduty\] Paged on-call/,
    );
    assert.match(output, /Security Hub's own follow-up event: UNCHANGED: alert #1 still open, nothing sent/);

    const refused: string[] = [];
    const asffOnly = readStackConfig(
      mapConfigSource(planSettings("prod", { allProducts: "true", products: "[]" }).settings),
    );
    assert.equal((await walk(asffOnly, stepsFromFile(file), (line) => refused.push(line))).paged, 0);
    assert.match(
      refused.join("\n"),
      /FILTERED OUT by the rules: it is an OCSF finding and the stack's findingFormats is asff/,
    );
  });

  it("works as the README shows it, and exits 0", async () => {
    const { stdout } = await promisify(execFile)("npm", ["start", "--silent"], { cwd: ROOT });
    assert.match(
      stdout,
      /Summary: 1 paged, 0 updated, 1 unchanged, 1 resolved, 1 with nothing to resolve, 2 filtered out; 2 PagerDuty request\(s\); 0 alert\(s\) left open; 0 Security Hub update\(s\); 0 webhook\(s\) refused\./,
    );
  });

  it("prints one JSON document of counts with --json", async () => {
    const { stdout } = await promisify(execFile)(
      "npm",
      ["start", "--silent", "--", "--stack", "prod", "--json"],
      {
        cwd: ROOT,
      },
    );
    const counts = JSON.parse(stdout) as Record<string, unknown>;
    for (const key of [
      "paged",
      "updated",
      "unchanged",
      "resolved",
      "nothingToResolve",
      "filteredOut",
      "deadLettered",
      "pagerdutyRequests",
      "openAlerts",
      "securityHubUpdates",
      "webhooksRejected",
    ])
      assert.equal(typeof counts[key], "number", key);
    assert.equal(counts.pagerdutyRequests, 6);
    assert.equal(counts.webhooksRejected, 1);
  });
});

describe("the test page", () => {
  let standIn: PagerDutyStandIn;
  const options = (overrides: Partial<TestPageOptions> = {}): TestPageOptions => ({
    routingKey: KEY,
    region: "us",
    resolve: false,
    severity: "info",
    url: standIn.url,
    ...overrides,
  });
  beforeEach(async () => {
    standIn = await startPagerDutyStandIn({ routingKeys: [KEY], ratePerMinute: 2 });
  });
  afterEach(() => standIn.close());

  it("opens a clearly labelled test alert and, on request, resolves it", async () => {
    assert.match(
      await sendTestPage(options()),
      /^Test page accepted by PagerDuty \(HTTP 202\).*npm run test-page -- --resolve$/,
    );
    const [alert] = standIn.model.openAlerts();
    assert.equal(alert?.dedupKey, TEST_DEDUP_KEY);
    assert.match(alert?.summary ?? "", /^TEST PAGE from electriceye-pagerduty/);
    assert.match(await sendTestPage(options({ resolve: true })), /the test alert .* is closed/);
    assert.deepEqual(standIn.model.openAlerts(), []);
  });

  it("refuses a key of the wrong shape without sending it or printing it", async () => {
    const badKey = "u+notAnIntegrationKey";
    await assert.rejects(sendTestPage(options({ routingKey: badKey })), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(
        error.message,
        /cannot work: it has 21 characters where an Events API v2 routing key has 32/,
      );
      assert.ok(!error.message.includes(badKey));
      return true;
    });
    assert.equal(standIn.model.counts().requests, 0);
  });

  it("explains a key PagerDuty rejects (400), and points at the EU region", async () => {
    const unknown = "00000000000000000000000000000000";
    await assert.rejects(sendTestPage(options({ routingKey: unknown })), (error: Error) => {
      assert.match(error.message, /rejected the test event \(HTTP 400\): Invalid routing key\..*--region eu/);
      assert.ok(!error.message.includes(unknown));
      return true;
    });
  });

  it("explains rate limiting (429)", async () => {
    await sendTestPage(options());
    await sendTestPage(options());
    await assert.rejects(sendTestPage(options()), /rate-limiting this routing key \(HTTP 429\)/);
  });

  it("explains that nothing answers", async () => {
    const url = standIn.url;
    await standIn.close();
    await assert.rejects(
      sendTestPage(options({ url })),
      /could not reach PagerDuty at http:\/\/127\.0\.0\.1:\d+\/v2\/enqueue: fetch failed \(ECONNREFUSED\)/,
    );
    standIn = await startPagerDutyStandIn();
  });

  it("takes the key from the environment and never prints it", async () => {
    const run = (args: string[]) =>
      promisify(execFile)(
        "npm",
        ["run", "--silent", "test-page", "--", "--events-url", standIn.url, ...args],
        {
          cwd: ROOT,
          env: { ...process.env, PAGERDUTY_ROUTING_KEY: KEY },
        },
      );
    const { stdout, stderr } = await run([]);
    assert.match(stdout, /Test page accepted/);
    assert.ok(!`${stdout}${stderr}`.includes(KEY));
    await run(["--resolve"]);
    assert.deepEqual(standIn.model.openAlerts(), []);
  });
});

describe("the sample finding for a deployed stack", () => {
  const filter = {
    severityLabels: ["CRITICAL" as const],
    products: ["ElectricEye"],
    workflowStatuses: ["NEW", "NOTIFIED"],
    activeOnly: true,
  };
  const now = new Date("2026-01-05T09:00:00Z");
  const options = { account: "444455556666", region: "eu-west-1", severity: "CRITICAL", now };

  for (const [format, make] of [
    ["asff", sampleFinding],
    ["ocsf", sampleOcsfFinding],
  ] as const) {
    it(`passes the dev rules and the function's filter, and its passed import resolves it (${format})`, () => {
      const rules = planRules(filter, { resolveRule: true, priorityLanes: true, formats: format });
      const failing = make({ ...options, passed: false });
      const passed = make({ ...options, passed: true });
      const lanesFor = (finding: Record<string, unknown>) =>
        rules
          .filter((rule) => matchesPattern(rule.pattern, importedEvent([finding], now)))
          .map((rule) => rule.lane);
      assert.deepEqual(lanesFor(failing), ["critical"]);
      assert.equal(decide(asFinding(failing), filter).action, "trigger");
      assert.deepEqual(lanesFor(passed), ["resolve"]);
      assert.equal(decide(asFinding(passed), filter).action, "resolve");
      assert.equal(
        asFinding(failing).productArn,
        "arn:aws:securityhub:eu-west-1:444455556666:product/444455556666/default",
      );
    });
  }

  it("is one alert in either format", () => {
    const keyOf = (raw: Record<string, unknown>) => {
      const finding = asFinding(raw);
      return dedupKeyOf(finding.productArn, finding.id);
    };
    assert.equal(
      keyOf(sampleOcsfFinding({ ...options, passed: false })),
      keyOf(sampleFinding({ ...options, passed: false })),
    );
  });
});
