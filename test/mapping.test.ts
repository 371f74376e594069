import assert from "assert/strict";
import { asffSeverity as severityOf } from "../handler/finding/asff";
import { ACCEPT_ALL } from "../handler/finding/filter";
import {
  EVENT_MAX_BYTES,
  SUMMARY_MAX_CHARS,
  dedupKeyOf,
  fitEvent,
  mapFinding,
} from "../handler/finding/mapping";
import { isoTimestamp } from "../handler/finding/text";
import type { PagerDutyEvent } from "../handler/finding/pagerdutyEvent";
import { readFinding } from "../handler/finding/read";
import { routeFinding } from "../handler/finding/route";
import { UPDATED_BY } from "../handler/sync/notes";
import { validate } from "../standins/pagerdutyModel";
import { readFileSync } from "fs";
import { join } from "path";
import { FIXTURE_DIR, asFinding, findingOf, findingsOf, fixtureNames } from "./support/fixtures";

const ROUTING_KEY = "R0123456789abcdefABCDEF012345678";

function trigger(finding: unknown): PagerDutyEvent {
  return mapFinding(asFinding(finding), "trigger").event;
}

function details(event: PagerDutyEvent): Record<string, unknown> {
  const custom = event.payload?.custom_details;
  assert.ok(custom !== undefined);
  return custom;
}

describe("reading who noted a finding", () => {
  it("takes a person's note or comment for triage, never the stack's own, and tells the stack's own apart", () => {
    const notes = (raw: unknown) => {
      const reading = readFinding(raw);
      assert.ok(reading.ok);
      return reading.finding;
    };
    const noted = (raw: unknown) => notes(raw).noted;
    const stackNoted = (raw: unknown) => notes(raw).stackNoted;
    const asff = findingOf("electriceye-s3-encryption.json");
    const ocsf = JSON.parse(
      readFileSync(
        join(FIXTURE_DIR, "..", "ocsf", "securityhub-v2-cspm-control-sqs1-fail-new-medium.json"),
        "utf8",
      ),
    ) as Record<string, unknown>;
    const stackNote = { Text: "PagerDuty incident #3 triggered", UpdatedBy: UPDATED_BY };
    assert.equal(noted({ ...asff, Note: stackNote }), false);
    assert.equal(noted({ ...asff, Note: { ...stackNote, UpdatedBy: "ada" } }), true);
    assert.equal(noted({ ...ocsf, comment: `[${UPDATED_BY}] PagerDuty incident #3 triggered` }), false);
    assert.equal(noted({ ...ocsf, comment: "looking into it" }), true);
    assert.equal(noted(ocsf), false);
    assert.equal(stackNoted({ ...asff, Note: stackNote }), true);
    assert.equal(stackNoted({ ...asff, Note: { ...stackNote, UpdatedBy: "ada" } }), false);
    assert.equal(stackNoted({ ...ocsf, comment: `[${UPDATED_BY}] PagerDuty incident #3 triggered` }), true);
    assert.equal(stackNoted({ ...ocsf, comment: "looking into it" }), false);
    assert.equal(stackNoted(asff), false);
  });
});

describe("mapping a finding to a PagerDuty event", () => {
  it("maps every finding of every fixture to an event the strict PagerDuty model accepts", () => {
    let count = 0;
    for (const name of fixtureNames()) {
      for (const finding of findingsOf(name)) {
        for (const action of ["trigger", "resolve"] as const) {
          const { event } = mapFinding(asFinding(finding), action);
          assert.deepEqual(validate({ ...event, routing_key: ROUTING_KEY }), [], name);
          count += 1;
        }
      }
    }
    assert.ok(count >= 40, `only ${count} findings mapped`);
  });

  describe("event_action", () => {
    it("triggers a FAILED, NEW, ACTIVE ElectricEye finding", () => {
      const routed = routeFinding(findingOf("electriceye-s3-public-bucket-policy.json"), ACCEPT_ALL);
      assert.equal(routed.kind === "send" && routed.action, "trigger");
    });
    it("resolves on Compliance PASSED (FSBP S3.2 passed, Workflow RESOLVED, RecordState ACTIVE)", () => {
      const routed = routeFinding(findingOf("asr-afsbp-s3.2-passed-resolved-finding.json"), ACCEPT_ALL);
      assert.equal(routed.kind === "send" && routed.action, "resolve");
    });
    it("resolves on RecordState ARCHIVED even while Workflow is NEW (Access Analyzer unused access)", () => {
      const finding = findingOf("access-analyzer-docs-unused-access-getfindings.json");
      assert.equal(finding.RecordState, "ARCHIVED");
      const routed = routeFinding(finding, ACCEPT_ALL);
      assert.equal(routed.kind === "send" && routed.action, "resolve");
    });
    it("resolves on Workflow SUPPRESSED and does not resolve on NOTIFIED", () => {
      const finding = findingOf("electriceye-s3-public-bucket-policy.json");
      finding.Workflow = { Status: "SUPPRESSED" };
      const suppressed = routeFinding(finding, ACCEPT_ALL);
      assert.equal(suppressed.kind === "send" && suppressed.action, "resolve");
      finding.Workflow = { Status: "NOTIFIED" };
      const notified = routeFinding(finding, ACCEPT_ALL);
      assert.equal(notified.kind === "send" && notified.action, "trigger");
    });
    it("treats a Compliance status outside the enum (Prowler INFOED) as not passed", () => {
      const infoed = findingsOf("prowler-3.3.0-asff-output-sample.json").find(
        (finding) => (finding.Compliance as { Status?: string }).Status === "INFOED",
      );
      const routed = routeFinding(infoed, ACCEPT_ALL);
      assert.equal(routed.kind === "send" && routed.action, "trigger");
    });
  });

  describe("dedup_key", () => {
    it("is the same for the trigger and the later PASSED re-import of a finding", () => {
      const failing = findingOf("electriceye-s3-encryption.json");
      const passed = {
        ...structuredClone(failing),
        Compliance: { Status: "PASSED" },
        Severity: { Label: "INFORMATIONAL" },
      };
      const first = routeFinding(failing, ACCEPT_ALL);
      const second = routeFinding(passed, ACCEPT_ALL);
      assert.ok(first.kind === "send" && second.kind === "send");
      assert.equal(second.action, "resolve");
      assert.equal(first.mapped.dedupKey, second.mapped.dedupKey);
    });
    it("stays within 255 characters and distinct for ids longer than 255 characters", () => {
      const long = "arn:aws:securityhub:us-east-1:111122223333:subscription/".padEnd(400, "x");
      const keys = [dedupKeyOf("p", `${long}a`), dedupKeyOf("p", `${long}b`), dedupKeyOf("q", `${long}a`)];
      assert.equal(new Set(keys).size, 3);
      for (const key of keys) assert.ok(key.length <= 255);
    });
    it("is distinct for the two findings of a multi-finding custom action", () => {
      const keys = findingsOf("asr-cis-1.6-custom-action-multi-findings.json").map((finding) =>
        dedupKeyOf(finding.ProductArn as string, finding.Id as string),
      );
      assert.equal(new Set(keys).size, 2);
    });
  });

  describe("severity", () => {
    it("maps labels to PagerDuty severities", () => {
      const expected = {
        CRITICAL: "critical",
        HIGH: "error",
        MEDIUM: "warning",
        LOW: "warning",
        INFORMATIONAL: "info",
      };
      for (const [label, severity] of Object.entries(expected)) {
        const finding = { ...findingOf("electriceye-s3-encryption.json"), Severity: { Label: label } };
        assert.equal(trigger(finding).payload?.severity, severity, label);
      }
    });
    it("falls back to Normalized when there is no Label, as a number or as a string", () => {
      const cases: [unknown, string][] = [
        [0, "INFORMATIONAL"],
        [1, "LOW"],
        [39, "LOW"],
        [40, "MEDIUM"],
        [69, "MEDIUM"],
        [70, "HIGH"],
        [89, "HIGH"],
        [90, "CRITICAL"],
        [100, "CRITICAL"],
        ["40", "MEDIUM"],
        ["95", "CRITICAL"],
      ];
      for (const [normalized, label] of cases) {
        assert.deepEqual(
          severityOf({ Severity: { Normalized: normalized } }),
          { label, from: "Severity.Normalized" },
          String(normalized),
        );
      }
    });
    it("pages a finding with neither Label nor Normalized as HIGH (error) and says so", () => {
      const finding = findingOf("electriceye-s3-encryption.json");
      delete finding.Severity;
      const event = trigger(finding);
      assert.equal(event.payload?.severity, "error");
      assert.equal(details(event).severity_from, "default");
    });
  });

  describe("payload", () => {
    it("keeps a summary of at most 1024 characters for a 1024-character description and a huge title", () => {
      const inspector = findingOf("inspector2-ecr-truncated-description-finding.json");
      assert.equal((inspector.Description as string).length, 1024);
      const finding = { ...inspector, Title: "T".repeat(5000) };
      const summary = trigger(finding).payload?.summary ?? "";
      assert.ok(summary.length <= SUMMARY_MAX_CHARS);
      assert.match(summary, /…/);
      assert.match(summary, /account 123456789012, eu-central-1\)$/);
      assert.equal(details(trigger(inspector)).description, inspector.Description);
    });
    it("names title, resource and account in the summary and every resource in the details (several resources)", () => {
      const finding = findingsOf("securityhub-fsbp-multiple-resources-findings.json")[0];
      const event = trigger(finding);
      assert.match(
        event.payload?.summary ?? "",
        /^HIGH: EC2\.2 .* on AwsEc2SecurityGroup .* and 2 more \(account 012345678912, us-east-1\)$/,
      );
      const resources = details(event).resources as { type: string; id: string; region?: string }[];
      assert.equal(resources.length, 3);
      assert.deepEqual(
        resources.map((resource) => resource.type),
        ["AwsEc2SecurityGroup", "AwsEc2SecurityGroup", "AwsEc2Vpc"],
      );
    });
    it("takes account and Region from the finding, and copes with a missing AwsAccountId", () => {
      const finding = findingOf("electriceye-s3-encryption.json");
      delete finding.AwsAccountId;
      const event = trigger(finding);
      assert.equal(event.payload?.group, "111122223333", "account from ProductArn");
      const bare = { Id: "x", Title: "t" };
      assert.match(trigger(bare).payload?.summary ?? "", /account unknown, unknown region/);
    });
    it("omits an invalid timestamp (ElectricEye hour 122) and normalises a valid one", () => {
      assert.equal(isoTimestamp("1977-06-02T122:29:47.694473+00:00"), undefined);
      assert.equal(isoTimestamp("2024-02-30T10:00:00Z"), undefined);
      assert.equal(isoTimestamp("2024-05-01T12:00:00.000000+02:00"), "2024-05-01T10:00:00.000Z");
      // Read from its parts as Date would read the normalised text: offsets, short forms, years before 100.
      assert.equal(isoTimestamp("2024-12-31T23:30-0130"), "2025-01-01T01:00:00.000Z");
      assert.equal(isoTimestamp("0050-03-01T00:00:00.9999Z"), "0050-03-01T00:00:00.999Z");
      assert.equal(isoTimestamp("2024-05-01T12:00:00+24:00"), undefined);
      assert.equal(isoTimestamp("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00.000Z");
      const finding = findingOf("electriceye-docs-stdout-ebs-volume.json");
      finding.UpdatedAt = finding.FirstObservedAt;
      assert.equal(trigger(finding).payload?.timestamp, undefined);
    });
    it("carries remediation, compliance, workflow and record state in the custom details", () => {
      const d = details(trigger(findingOf("electriceye-s3-public-bucket-policy.json")));
      assert.equal(d.product, "ElectricEye");
      assert.equal(d.compliance_status, "FAILED");
      assert.equal(d.workflow_status, "NEW");
      assert.equal(d.record_state, "ACTIVE");
      assert.ok((d.related_requirements as string[]).length > 50);
      assert.match(String(d.remediation), /Bucket Policy Examples/);
    });
  });

  describe("links", () => {
    it("links the remediation URL and the finding in the console of its own partition and Region", () => {
      const event = trigger(findingOf("aws-docs-config-finding.json"));
      const hrefs = (event.links ?? []).map((link) => link.href);
      assert.ok(
        hrefs.some((href) =>
          href.startsWith(
            "https://console.aws.amazon.com/securityhub/home?region=eu-central-1#/findings?search=Id%3D",
          ),
        ),
      );
      assert.equal(event.client_url, hrefs[hrefs.length - 1]);
    });
    it("does not link a remediation text that is not a URL, and uses the China and GovCloud consoles", () => {
      const finding = findingOf("access-analyzer-docs-external-access-finding.json");
      assert.ok(!(trigger(finding).links ?? []).some((link) => link.text === "Remediation"));
      const china = {
        ...finding,
        ProductArn: "arn:aws-cn:securityhub:cn-north-1::product/aws/access-analyzer",
      };
      assert.match(
        trigger(china).client_url ?? "",
        /^https:\/\/console\.amazonaws\.cn\/securityhub\/home\?region=cn-north-1#/,
      );
      const gov = {
        ...finding,
        ProductArn: "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/access-analyzer",
      };
      assert.match(trigger(gov).client_url ?? "", /^https:\/\/console\.amazonaws-us-gov\.com\//);
    });
    it("offers no console link for an isolated partition (aws-iso)", () => {
      const event = trigger(findingOf("electriceye-docs-sechub-output-gcp.json"));
      assert.equal(event.client_url, undefined);
    });
  });

  describe("size", () => {
    it("cuts oversized fields with a marker and lists them, keeping the event under 512 KB", () => {
      const finding = findingOf("electriceye-s3-public-bucket-policy.json");
      finding.Description = "D".repeat(700_000);
      finding.Resources = Array.from({ length: 8000 }, (_, index) => ({
        Type: "AwsS3Bucket",
        Id: `arn:aws:s3:::bucket-${index}`,
        Region: "us-east-1",
      }));
      const event = trigger(finding);
      const size = Buffer.byteLength(JSON.stringify({ ...event, routing_key: ROUTING_KEY }));
      assert.ok(size <= 512_000, `${size} bytes: within 512 KB read as 512,000 bytes`);
      const d = details(event);
      assert.match(String(d.description), /^D+…\[cut \d+ of 700000 characters\]$/);
      const resources = d.resources as unknown[];
      assert.match(String(resources[resources.length - 1]), /^\[cut \d+ of 8000 entries\]$/);
      assert.ok(resources.length > 1000, "the list is shortened, not emptied");
      assert.deepEqual(d.truncated, ["description", "resources"]);
      assert.equal(validate({ ...event, routing_key: ROUTING_KEY }).length, 0);
    });
    it("leaves an event that fits untouched", () => {
      const event = trigger(findingOf("guardduty-docs-typical-finding.json"));
      assert.equal(fitEvent(event, EVENT_MAX_BYTES), event);
      assert.equal(details(event).truncated, undefined);
    });
  });

  it("refuses a finding without an Id, naming the problem", () => {
    const finding = findingOf("electriceye-s3-encryption.json");
    delete finding.Id;
    assert.deepEqual(routeFinding(finding, ACCEPT_ALL), {
      kind: "invalid",
      reason: "finding has no Id (ASFF requires one)",
    });
  });
});
