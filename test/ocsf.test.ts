import assert from "assert/strict";
import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import { ACCEPT_ALL, decide, type FindingFilter } from "../handler/finding/filter";
import { dedupKeyOf, mapFinding } from "../handler/finding/mapping";
import { readFinding } from "../handler/finding/read";
import { routeFinding } from "../handler/finding/route";
import { identityOf, refOf } from "../handler/sync/securityHub";
import { planRules } from "../infra/eventPatterns";
import { validate, type Responder } from "../standins/pagerdutyModel";
import { deliverWebhook, webhookPayload } from "../standins/pagerdutyWebhooks";
import { matchesPattern } from "../tools/patternMatcher";
import { importedEvent } from "../tools/simulation/findings";
import { sqsEvent } from "./support/fixtures";
import {
  DEAD_LETTER_QUEUE,
  STATE_TABLE,
  WEBHOOK_SECRET,
  failures,
  replayFollowUps,
  startWorld,
  type World,
} from "./support/world";

const ADA: Responder = { id: "PADA001", name: "Ada Lovelace" };

// The new Security Hub's OCSF findings (and ElectricEye's OCSF output), from the published examples in
// test/fixtures/ocsf (sources in its SOURCES.md).

const OCSF_DIR = join(__dirname, "fixtures", "ocsf");
const names = readdirSync(OCSF_DIR)
  .filter((name) => name.endsWith(".json"))
  .sort();
const load = (name: string) =>
  JSON.parse(readFileSync(join(OCSF_DIR, name), "utf8")) as Record<string, unknown>;
/** The finding of a fixture: the file itself, or the one finding of its EventBridge event. */
const ocsf = (name: string): Record<string, unknown> => {
  const document = load(name);
  const findings = (document.detail as { findings?: Record<string, unknown>[] } | undefined)?.findings;
  return structuredClone(findings?.[0] ?? document);
};
const read = (raw: unknown) => {
  const reading = readFinding(raw);
  assert.ok(reading.ok, reading.ok ? "" : reading.reason);
  return reading.finding;
};
const ROUTING_KEY = "R0123456789abcdefABCDEF012345678";

// What each fixture must become: the action, the severity, where, and the links a responder gets.
const EXPECTED: Record<
  string,
  { action: string; severity: string; account: string; region: string; links: RegExp[] }
> = {
  "electriceye-ocsf-v1-1-0-aws-lambda5-pass-informational.json": {
    action: "resolve",
    severity: "INFORMATIONAL",
    account: "123456789012",
    region: "us-isob-east-1",
    links: [/^https:\/\/docs\.aws\.amazon\.com\/lambda\//],
  },
  "electriceye-ocsf-v1-1-0-azure-defender-fail-medium.json": {
    action: "trigger",
    severity: "MEDIUM",
    account: "0000aaa-1234-bbb-dddd-example123",
    region: "azure-global",
    links: [/^https:\/\/learn\.microsoft\.com\//],
  },
  "securityhub-v2-coverage-guardduty-pass-informational.json": {
    action: "resolve",
    severity: "INFORMATIONAL",
    account: "123456789012",
    region: "us-east-1",
    links: [
      /^https:\/\/docs\.aws\.amazon\.com\/guardduty\//,
      /^https:\/\/console\.aws\.amazon\.com\/securityhub\/v2\/home\?region=us-east-1#/,
    ],
  },
  "securityhub-v2-cspm-control-sqs1-fail-new-medium.json": {
    action: "trigger",
    severity: "MEDIUM",
    account: "123456789012",
    region: "us-east-2",
    links: [
      /^https:\/\/docs\.aws\.amazon\.com\/console\/securityhub\/SQS\.1\/remediation$/,
      /^https:\/\/console\.aws\.amazon\.com\/securityhub\/v2\/home\?region=us-east-2#\/findings\?search=finding_info\.uid%3Darn/,
    ],
  },
  "securityhub-v2-eventbridge-findings-imported-v2-guardduty-detection-suppressed-low.json": {
    action: "resolve",
    severity: "LOW",
    account: "869728294964",
    region: "us-east-1",
    links: [
      /^https:\/\/docs\.aws\.amazon\.com\/guardduty\//,
      /^https:\/\/console\.aws\.amazon\.com\/securityhub\/v2\/home\?region=us-east-1#\/findings\?search=finding_info\.uid%3Darn%3Aaws%3Aguardduty/,
    ],
  },
  "securityhub-v2-exposure-finding-lambda-critical-new.json": {
    action: "trigger",
    severity: "CRITICAL",
    account: "123456789012",
    region: "us-east-1",
    links: [/^https:\/\/console\.aws\.amazon\.com\/securityhub\/v2\/home\?region=us-east-1#/],
  },
  "securityhub-v2-inspector-vulnerability-ec2-high-new.json": {
    action: "trigger",
    severity: "HIGH",
    account: "123456789012",
    region: "us-east-2",
    links: [
      /^https:\/\/alas\.aws\.amazon\.com\//,
      /^https:\/\/console\.aws\.amazon\.com\/securityhub\/v2\/home\?region=us-east-2#/,
    ],
  },
};

/** The same finding as Security Hub CSPM writes it in ASFF: same Id, the product's ASFF ARN. */
function asffTwin(
  raw: Record<string, unknown>,
  productArn: string,
  changes: Record<string, unknown> = {},
): Record<string, unknown> {
  const finding = read(raw);
  return {
    SchemaVersion: "2018-10-08",
    Id: finding.id,
    ProductArn: productArn,
    AwsAccountId: finding.account,
    Region: finding.region,
    Title: `ASFF copy: ${finding.title ?? ""}`,
    Description: finding.description,
    Severity: { Label: finding.severity.label },
    Compliance: { Status: finding.compliance ?? "FAILED" },
    Workflow: { Status: "NEW" },
    RecordState: "ACTIVE",
    Resources: [{ Type: "AwsResource", Id: finding.resources[0]?.id ?? "unknown" }],
    UpdatedAt: finding.updatedAt,
    ...changes,
  };
}

describe("OCSF findings of the new Security Hub", () => {
  it("reads every published example: action, severity, account and Region from cloud, links, events PagerDuty accepts", () => {
    assert.deepEqual(names, Object.keys(EXPECTED).sort());
    for (const name of names) {
      const expected = EXPECTED[name];
      assert.ok(expected !== undefined);
      const routed = routeFinding(ocsf(name), ACCEPT_ALL);
      assert.ok(routed.kind === "send", name);
      assert.equal(routed.action, expected.action, name);
      const { finding } = routed;
      assert.equal(finding.format, "ocsf");
      assert.equal(finding.severity.label, expected.severity, name);
      assert.equal(finding.account, expected.account, name);
      assert.equal(finding.region, expected.region, name);
      const trigger = mapFinding(finding, "trigger").event;
      assert.deepEqual(validate({ ...trigger, routing_key: ROUTING_KEY }), [], name);
      assert.deepEqual(validate({ ...routed.mapped.event, routing_key: ROUTING_KEY }), [], name);
      assert.ok(
        trigger.payload?.summary.endsWith(`(account ${expected.account}, ${expected.region})`),
        trigger.payload?.summary,
      );
      assert.equal(trigger.links?.length ?? 0, expected.links.length, name);
      expected.links.forEach((link, index) => assert.match(trigger.links?.[index]?.href ?? "", link, name));
    }
  });

  it("reads OCSF's fields into the finding the rest of the function uses", () => {
    const inspector = read(ocsf("securityhub-v2-inspector-vulnerability-ec2-high-new.json"));
    assert.match(
      inspector.remediationText ?? "",
      /^yum update python; yum update python-devel/,
      "per-package remediation",
    );
    assert.equal(inspector.updatedAt, "2025-09-26T16:24:03.057Z");
    assert.equal(inspector.productArn, "arn:aws:securityhub:us-east-2::productv2/aws/inspector");
    const control = read(ocsf("securityhub-v2-cspm-control-sqs1-fail-new-medium.json"));
    assert.deepEqual(
      [control.compliance, control.securityControlId, control.workflow, control.relatedRequirements],
      ["FAILED", "SQS.1", "NEW", ["standards/aws-foundational-security-best-practices/v/1.0.0"]],
    );
    assert.deepEqual(control.resources, [
      {
        type: "AWS::SQS::Queue",
        id: "https://sqs.us-east-2.amazonaws.com/123456789012/securityhubfinding",
        region: "us-east-2",
        partition: "aws",
      },
    ]);
    // ElectricEye: epoch seconds, one resource (singular), severity_id 99 beside a label, its ASFF product ARN.
    const electricEye = read(ocsf("electriceye-ocsf-v1-1-0-aws-lambda5-pass-informational.json"));
    assert.equal(electricEye.updatedAt, "2024-02-03T20:00:23.000Z");
    assert.equal(electricEye.resources.length, 1);
    assert.deepEqual(electricEye.severity, { label: "INFORMATIONAL", from: "severity" });
    assert.deepEqual(electricEye.productNames, ["ElectricEye"]);
    assert.equal(
      electricEye.productArn,
      "arn:aws:securityhub:us-isob-east-1:123456789012:product/123456789012/default",
      "ElectricEye's OCSF names its ASFF product ARN: its alerts are the ones its ASFF findings open",
    );
    assert.equal(electricEye.consoleUrl, undefined, "no console link in an isolated partition");
    assert.equal(
      electricEye.ocsf,
      undefined,
      "without metadata.product.uid, BatchUpdateFindingsV2 cannot name it: nothing is written back",
    );
    assert.deepEqual(inspector.ocsf, {
      accountUid: "123456789012",
      productUid: "arn:aws:securityhub:us-east-2::productv2/aws/inspector",
    });
    // The alert state keeps the same identity the page's write-back uses, so the webhook's writes name it alike.
    assert.deepEqual(refOf(identityOf(inspector)), {
      format: "ocsf",
      accountUid: "123456789012",
      findingUid: inspector.id,
      productUid: "arn:aws:securityhub:us-east-2::productv2/aws/inspector",
    });
    assert.equal(
      refOf(identityOf(electricEye)),
      undefined,
      "nothing names ElectricEye's OCSF to Security Hub",
    );
    const suppressed = read(
      ocsf("securityhub-v2-eventbridge-findings-imported-v2-guardduty-detection-suppressed-low.json"),
    );
    assert.equal(suppressed.workflow, "SUPPRESSED");
    assert.ok(suppressed.noted, "a user's comment counts as a note");
  });

  it("takes severity from the label first, then severity_id, and says when neither is usable", () => {
    const base = ocsf("securityhub-v2-cspm-control-sqs1-fail-new-medium.json");
    const { severity: _label, ...withoutLabel } = base;
    assert.deepEqual(read({ ...withoutLabel, severity_id: 4 }).severity, {
      label: "HIGH",
      from: "severity_id",
    });
    assert.deepEqual(read({ ...withoutLabel, severity_id: 99 }).severity, { label: "HIGH", from: "default" });
    assert.deepEqual(read({ ...base, severity: "Fatal", severity_id: 6 }).severity, {
      label: "CRITICAL",
      from: "severity",
    });
    const { status: _status, ...withoutStatus } = base;
    assert.equal(
      read({ ...withoutStatus, status_id: 2 }).workflow,
      "NOTIFIED",
      "In Progress, in ASFF's words",
    );
  });

  it("refuses Security Lake's OCSF 1.0 shape with a reason, and dead-letters only that record", async () => {
    // The shape of OCSF 1.0's Security Finding (class 2001) as Security Lake wrote it: `finding` and `state`.
    const securityLake = {
      class_uid: 2001,
      class_name: "Security Finding",
      state_id: 1,
      state: "New",
      finding: { uid: "arn:aws:securityhub:us-east-1:123456789012:subscription/x", title: "t", types: ["t"] },
      metadata: { version: "1.0.0-rc.2", product: { name: "Security Hub" } },
      severity_id: 3,
    };
    const reading = readFinding(securityLake);
    assert.ok(!reading.ok);
    assert.match(
      reading.reason,
      /^an OCSF 1\.0 finding \(Security Lake's shape, with finding and state\) is not read/,
    );
    const world = await startWorld();
    try {
      const event = {
        ...importedEvent([ocsf("securityhub-v2-cspm-control-sqs1-fail-new-medium.json")]),
        detail: { findings: [securityLake] },
      };
      const good = importedEvent([ocsf("securityhub-v2-exposure-finding-lambda-critical-new.json")]);
      assert.deepEqual(
        failures(await world.handler()(sqsEvent([JSON.stringify(event), JSON.stringify(good)]))),
        [],
      );
      assert.match(
        String(world.sqs.messages(DEAD_LETTER_QUEUE)[0]?.attributes.reason),
        /finding 1: an OCSF 1\.0 finding/,
      );
      assert.equal(world.pagerduty.model.openAlerts().length, 1, "the good record pages");
    } finally {
      await world.close();
    }
  });

  describe("through the handler, over real HTTP", () => {
    let world: World;
    beforeEach(async () => {
      world = await startWorld();
    });
    afterEach(() => world.close());
    const deliver = (raws: unknown[], handler = world.handler()) =>
      handler(sqsEvent(raws.map((raw) => JSON.stringify(importedEvent([raw])))));

    it("sends every example as Findings Imported V2 events, each accepted by the strict PagerDuty stand-in", async () => {
      const handler = world.handler({}, { resolveUntrackedUntil: Date.now() + 3600_000 });
      const events = names.map((name) => {
        const document = load(name);
        return "detail-type" in document ? document : importedEvent([document]);
      });
      assert.ok(events.every((event) => event["detail-type"] === "Findings Imported V2"));
      assert.deepEqual(failures(await handler(sqsEvent(events.map((event) => JSON.stringify(event))))), []);
      const counts = world.pagerduty.model.counts();
      assert.deepEqual([counts.accepted, counts.rejected], [7, 0]);
      assert.equal(world.sqs.messages(DEAD_LETTER_QUEUE).length, 0);
    });

    it("resolves an OCSF finding's alert on its later Pass or Resolved update: one dedup key", async () => {
      const failing = ocsf("securityhub-v2-cspm-control-sqs1-fail-new-medium.json");
      const passed = {
        ...failing,
        compliance: { ...(failing.compliance as object), status: "Pass", status_id: 1 },
        time: 1758280000000,
        finding_info: {
          ...(failing.finding_info as object),
          modified_time: 1758280000000,
          modified_time_dt: undefined,
        },
      };
      const exposure = ocsf("securityhub-v2-exposure-finding-lambda-critical-new.json");
      const resolved = {
        ...exposure,
        status: "Resolved",
        status_id: 4,
        time: 1731706800000,
        time_dt: "2024-11-15T21:40:00.000Z",
      };
      for (const [trigger, update] of [
        [failing, passed],
        [exposure, resolved],
      ] as const) {
        const keys = [trigger, update].map((raw) => {
          const routed = routeFinding(raw, ACCEPT_ALL);
          assert.ok(routed.kind === "send");
          return [routed.action, routed.mapped.dedupKey];
        });
        assert.deepEqual(
          keys.map(([action]) => action),
          ["trigger", "resolve"],
        );
        assert.equal(keys[0]?.[1], keys[1]?.[1]);
      }
      await deliver([failing, exposure]);
      assert.equal(world.pagerduty.model.openAlerts().length, 2);
      await deliver([passed, resolved]);
      assert.deepEqual(world.pagerduty.model.openAlerts(), []);
    });

    it("opens one alert for a finding that arrives in both feeds, and resolves it from either", async () => {
      // The CSPM control finding and the Inspector finding, and their ASFF copies (same Id, the ASFF product ARN).
      const control = ocsf("securityhub-v2-cspm-control-sqs1-fail-new-medium.json");
      const controlAsff = asffTwin(control, "arn:aws:securityhub:us-east-2::product/aws/securityhub");
      const inspector = ocsf("securityhub-v2-inspector-vulnerability-ec2-high-new.json");
      const inspectorAsff = asffTwin(inspector, "arn:aws:securityhub:us-east-2::product/aws/inspector");
      for (const [raw, twin] of [
        [control, controlAsff],
        [inspector, inspectorAsff],
      ] as const)
        assert.equal(
          routeFinding(raw, ACCEPT_ALL).kind === "send" && dedupKeyOf(read(raw).productArn, read(raw).id),
          dedupKeyOf(String(twin.ProductArn), String(twin.Id)),
        );
      await deliver([control, inspectorAsff]);
      await deliver([controlAsff, inspector]);
      await deliver([control, inspectorAsff]);
      assert.equal(world.pagerduty.model.openAlerts().length, 2, "one alert each");
      assert.equal(world.pagerduty.model.counts().requests, 2, "the other feed's copies send nothing");
      await deliver([
        asffTwin(control, "arn:aws:securityhub:us-east-2::product/aws/securityhub", {
          Compliance: { Status: "PASSED" },
          UpdatedAt: "2025-09-20T00:00:00.000Z",
        }),
      ]);
      assert.equal(
        world.pagerduty.model.openAlerts().length,
        1,
        "the ASFF pass closes the alert the OCSF copy opened",
      );
    });

    it("writes a page back with BatchUpdateFindingsV2 (In Progress, a comment), and its follow-up event neither pages nor loops", async () => {
      const [held] = world.securityHub.importFindingsV2([
        ocsf("securityhub-v2-cspm-control-sqs1-fail-new-medium.json"),
      ]);
      const handler = world.handler({}, { securityHubSync: true });
      await deliver([held], handler);
      const after = world.securityHub.findingV2(
        "123456789012",
        String((held?.finding_info as { uid: string }).uid),
        "arn:aws:securityhub:us-east-2::productv2/aws/securityhub",
      );
      assert.equal(after?.status, "In Progress");
      assert.equal(after?.status_id, 2);
      assert.match(
        String(after?.comment),
        /^\[electriceye-pagerduty\] Paged on-call through PagerDuty service/,
      );
      assert.equal(await replayFollowUps(world, handler), 1, "one follow-up event, which changes nothing");
      assert.equal(world.pagerduty.model.counts().requests, 1);
      assert.equal(world.securityHub.updates.length, 1);
    });

    it("holds ElectricEye's OCSF finding after a responder resolves it, though Security Hub cannot be told", async () => {
      // No metadata.product.uid: BatchUpdateFindingsV2 cannot name it, so nothing is written back either way.
      const finding = ocsf("electriceye-ocsf-v1-1-0-azure-defender-fail-medium.json");
      const handler = world.handler({}, { securityHubSync: true });
      await deliver([finding], handler);
      const [alert] = world.pagerduty.model.alerts();
      assert.ok(alert !== undefined);
      world.pagerduty.model.respond(alert.dedupKey, "resolve", ADA);
      const body = JSON.stringify(webhookPayload(world.pagerduty.model, alert, "incident.resolved", ADA));
      const answer = await deliverWebhook(await world.webhookEndpoint(), body, WEBHOOK_SECRET);
      assert.equal(answer.status, 200, answer.body);
      assert.match(answer.body, /"applied"/);
      assert.equal(world.securityHub.updates.length, 0);
      const item = await world.dynamodb.item(STATE_TABLE, `alert#${alert.dedupKey}`);
      assert.equal(item?.closedBy?.S, "responder");
      await deliver([{ ...finding, time: Number(finding.time) + 3600 }], handler);
      assert.equal(world.pagerduty.model.counts().requests, 1, "held while it keeps failing");
    });
  });

  describe("the V2 rules, matched as EventBridge matches them", () => {
    const PROD: FindingFilter = {
      severityLabels: ["HIGH", "CRITICAL"],
      products: [],
      workflowStatuses: ["NEW", "NOTIFIED"],
      activeOnly: true,
    };
    const cases: [string, FindingFilter][] = [
      ["every product", PROD],
      ["ElectricEye only", { ...PROD, products: ["ElectricEye"] }],
    ];
    for (const [what, filter] of cases) {
      it(`agree with the function's own filter on every example (${what})`, () => {
        const rules = planRules(filter, { resolveRule: true, priorityLanes: true, formats: "ocsf" });
        assert.deepEqual(
          rules.map((rule) => rule.name),
          ["critical-findings-v2", "findings-v2", "resolutions-v2"],
        );
        for (const name of names) {
          const raw = ocsf(name);
          const matched = rules
            .filter((rule) => matchesPattern(rule.pattern, importedEvent([raw])))
            .map((rule) => rule.name);
          const { action } = decide(read(raw), filter);
          if (action === "trigger")
            assert.ok(
              matched.some((rule) => rule !== "resolutions-v2"),
              `${name}: no rule admits a page`,
            );
          if (action === "resolve") assert.deepEqual(matched, ["resolutions-v2"], name);
          if (action === "skip") assert.deepEqual(matched, [], name);
        }
      });
    }

    it("admit the CRITICAL exposure finding into the critical lane and leave ASFF events to the ASFF rules", () => {
      const rules = planRules(PROD, { resolveRule: true, priorityLanes: true, formats: "both" });
      const exposure = importedEvent([ocsf("securityhub-v2-exposure-finding-lambda-critical-new.json")]);
      assert.deepEqual(
        rules.filter((rule) => matchesPattern(rule.pattern, exposure)).map((rule) => [rule.name, rule.lane]),
        [["critical-findings-v2", "critical"]],
      );
    });
  });
});
