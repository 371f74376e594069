import assert from "assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import {
  alertKeyOf,
  controlOf,
  groupEvent,
  groupOf,
  liveListUrlOf,
  type Grouping,
} from "../handler/finding/control";
import { readDocument } from "../handler/finding/events";
import { dedupKeyOf } from "../handler/finding/mapping";
import type { Finding } from "../handler/finding/model";
import { electricEyeFinding } from "../tools/simulation/findings";
import { asFinding, findingsOf } from "./support/fixtures";

const BY_CONTROL: Grouping = { per: "control", fields: ["account"], criticalAlone: true };

function ocsfFinding(name: string): Finding {
  const document = JSON.parse(readFileSync(join(__dirname, "fixtures", "ocsf", name), "utf8")) as unknown;
  const first = readDocument(document)?.findings[0]?.finding;
  return asFinding(first);
}

describe("the control of a finding, for every format and product", () => {
  it("reads ASFF's Compliance.SecurityControlId, ProductFields.ControlId, ElectricEye's check and Prowler's GeneratorId", () => {
    const controls = [
      "aws-docs-sample-fsbp-finding.json",
      "securityhub-fsbp-multiple-resources-findings.json",
      "electriceye-s3-encryption.json",
      "prowler-3.3.0-asff-output-sample.json",
    ].map((name) => controlOf(asFinding(findingsOf(name)[0])));
    assert.deepEqual(controls, [
      { id: "CloudTrail.2", from: "Compliance.SecurityControlId" },
      { id: "EC2.2", from: "ProductFields.ControlId" },
      { id: "s3-bucket-encryption-check", from: "the check named in Id after GeneratorId" },
      { id: "prowler-accessanalyzer_enabled", from: "GeneratorId" },
    ]);
    // A consolidated control finding's ASFF copy without Compliance.SecurityControlId: the control of its OCSF copy.
    const { SecurityControlId: _id, ...compliance } = findingsOf("aws-docs-sample-fsbp-finding.json")[0]
      ?.Compliance as Record<string, unknown>;
    const copy = {
      ...findingsOf("aws-docs-sample-fsbp-finding.json")[0],
      GeneratorId: "security-control/CloudTrail.2",
      ProductFields: {},
      Compliance: compliance,
    };
    assert.deepEqual(controlOf(asFinding(copy)), {
      id: "CloudTrail.2",
      from: "GeneratorId (security-control/)",
    });
  });

  it("reads OCSF's compliance.control, from the new Security Hub and from ElectricEye", () => {
    assert.deepEqual(controlOf(ocsfFinding("securityhub-v2-cspm-control-sqs1-fail-new-medium.json")), {
      id: "SQS.1",
      from: "compliance.control",
    });
    assert.deepEqual(controlOf(ocsfFinding("electriceye-ocsf-v1-1-0-azure-defender-fail-medium.json")), {
      id: "Azure.DefenderForCloud.3",
      from: "compliance.control",
    });
  });

  it("finds none for threat detections and vulnerabilities, which keep an alert each", () => {
    const guardDuty = asFinding(findingsOf("guardduty-docs-typical-finding.json")[0]);
    const inspector = ocsfFinding("securityhub-v2-inspector-vulnerability-ec2-high-new.json");
    for (const finding of [guardDuty, inspector]) {
      assert.equal(controlOf(finding), undefined);
      assert.equal(groupOf(finding, BY_CONTROL), undefined);
      assert.equal(alertKeyOf(finding, BY_CONTROL), dedupKeyOf(finding.productArn, finding.id));
    }
  });
});

describe("groups of one control per account", () => {
  const bucket = (name: string, account = "111122223333") =>
    asFinding(electricEyeFinding("s3-encryption-high", name, account));

  it("puts one control's failing buckets of one account in one group, and another account's in another", () => {
    const [a, b, other] = [bucket("a"), bucket("b"), bucket("a", "444455556666")];
    assert.equal(alertKeyOf(a, BY_CONTROL), alertKeyOf(b, BY_CONTROL));
    assert.notEqual(alertKeyOf(a, BY_CONTROL), alertKeyOf(other, BY_CONTROL));
    assert.match(alertKeyOf(a, BY_CONTROL), /^securityhub-group-[0-9a-f]{64}$/);
    // One alert per finding keeps today's keys.
    const perFinding: Grouping = { per: "finding", fields: [], criticalAlone: true };
    assert.equal(alertKeyOf(a, perFinding), dedupKeyOf(a.productArn, a.id));
    assert.deepEqual(groupOf(a, BY_CONTROL), {
      dedupKey: alertKeyOf(a, BY_CONTROL),
      control: { id: "s3-bucket-encryption-check", from: "the check named in Id after GeneratorId" },
      account: "111122223333",
    });
  });

  it("keeps CRITICAL findings one alert each unless configured, else in groups of their own, and splits by Region when asked", () => {
    const critical = asFinding(electricEyeFinding("s3-public-policy-critical", "a", "111122223333"));
    assert.equal(groupOf(critical, BY_CONTROL), undefined);
    // Grouped, CRITICAL findings share a group of their own: never a HIGH group's, whose incident opened at HIGH's urgency.
    const grouped: Grouping = { ...BY_CONTROL, criticalAlone: false };
    const otherCritical = asFinding(electricEyeFinding("s3-public-policy-critical", "b", "111122223333"));
    const high = { ...critical, severity: { ...critical.severity, label: "HIGH" as const } };
    assert.match(alertKeyOf(critical, grouped), /^securityhub-group-/);
    assert.equal(alertKeyOf(critical, grouped), alertKeyOf(otherCritical, grouped));
    assert.notEqual(alertKeyOf(critical, grouped), alertKeyOf(high, grouped));
    assert.equal(alertKeyOf(high, grouped), alertKeyOf(high, BY_CONTROL));
    const east = asFinding(findingsOf("aws-docs-sample-fsbp-finding.json")[0]);
    const west = { ...east, id: `${east.id}-west`, region: "us-west-2" };
    const byRegion: Grouping = { ...BY_CONTROL, fields: ["account", "region"] };
    assert.equal(alertKeyOf(east, BY_CONTROL), alertKeyOf(west, BY_CONTROL));
    assert.notEqual(alertKeyOf(east, byRegion), alertKeyOf(west, byRegion));
  });

  it("pages the group: control and title, account and Region, failing now, the first resources, remediation, the live list", () => {
    const members = ["billing-archive", "billing-logs", "billing-replica"].map((name) => bucket(name));
    const first = members[0] as Finding;
    const group = groupOf(first, BY_CONTROL);
    assert.ok(group !== undefined);
    const event = groupEvent({
      group: { ...group, region: "us-east-1" },
      ...(first.title === undefined ? {} : { title: first.title }),
      failing: 3,
      resources: members.flatMap((member) => member.resources),
      highest: "HIGH",
      ...(first.remediationText === undefined ? {} : { remediationText: first.remediationText }),
      ...(first.remediationUrl === undefined ? {} : { remediationUrl: first.remediationUrl }),
      liveListUrl: liveListUrlOf(first, group),
    });
    assert.equal(
      event.payload?.summary,
      "HIGH: [S3.1] Amazon S3 buckets should be encrypted fails on 3 buckets (account 111122223333, us-east-1)",
    );
    assert.equal(event.dedup_key, group.dedupKey);
    assert.equal(event.payload?.class, "s3-bucket-encryption-check");
    assert.equal(event.payload?.group, "111122223333");
    const details = event.payload?.custom_details as Record<string, unknown>;
    assert.equal(details.failing_now, 3);
    assert.deepEqual(
      (details.resources as { id: string }[]).map((resource) => resource.id),
      ["arn:aws:s3:::billing-archive", "arn:aws:s3:::billing-logs", "arn:aws:s3:::billing-replica"],
    );
    assert.ok(typeof details.remediation === "string" && details.remediation.length > 0);
    const live = event.links?.[0]?.href ?? "";
    assert.match(live, /#\/findings\?search=Title%3D%255Coperator%255C%253AEQUALS%255C%253A/);
    assert.match(live, /AwsAccountId%3D%255Coperator%255C%253AEQUALS%255C%253A111122223333/);
    assert.match(live, /ComplianceStatus%3D%255Coperator%255C%253AEQUALS%255C%253AFAILED/);
  });
});
