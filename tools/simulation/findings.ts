import { createHash, randomUUID } from "crypto";
import { readFileSync } from "fs";
import { join } from "path";
import { IMPORTED, IMPORTED_V2 } from "../../handler/finding/events";
import { readFinding } from "../../handler/finding/read";

// Realistic findings for the benchmark and the local walk-through, made from the published findings kept as
// test fixtures (test/fixtures/asff/SOURCES.md and test/fixtures/ocsf/SOURCES.md name their sources).

const FIXTURES = join(__dirname, "..", "..", "test", "fixtures", "asff");
const CONTROL_FIXTURE = join(FIXTURES, "..", "ocsf", "securityhub-v2-cspm-control-sqs1-fail-new-medium.json");
const CONTROL_ACCOUNT = "123456789012";
const CONTROL_QUEUE = "securityhubfinding";
const TEMPLATE_ACCOUNT = "111122223333";

export type Template = "s3-encryption-high" | "s3-public-policy-critical";

const TEMPLATE_FILES: Record<Template, string> = {
  "s3-encryption-high": "electriceye-s3-encryption.json",
  "s3-public-policy-critical": "electriceye-s3-public-bucket-policy.json",
};

const templates = new Map<Template, string>();

function templateText(template: Template): string {
  let text = templates.get(template);
  if (text === undefined) {
    const { _note: _, ...finding } = JSON.parse(
      readFileSync(join(FIXTURES, TEMPLATE_FILES[template]), "utf8"),
    ) as Record<string, unknown>;
    text = JSON.stringify(finding);
    templates.set(template, text);
  }
  return text;
}

/** A distinct finding: the template's bucket renamed, in the given account. */
export function electricEyeFinding(
  template: Template,
  bucket: string,
  account: string,
): Record<string, unknown> {
  return JSON.parse(
    templateText(template).replaceAll("example-bucket-name", bucket).replaceAll(TEMPLATE_ACCOUNT, account),
  ) as Record<string, unknown>;
}

/** A passed re-import of a finding, as ElectricEye sends it when the check passes. */
export function passedReimport(finding: Record<string, unknown>): Record<string, unknown> {
  return {
    ...finding,
    Severity: { Label: "INFORMATIONAL" },
    Compliance: { ...(finding.Compliance as object), Status: "PASSED" },
    Workflow: { Status: "RESOLVED" },
    RecordState: "ARCHIVED",
  };
}

let controlTemplate: string | undefined;

/**
 * A distinct control finding of the new Security Hub (OCSF, control SQS.1) for the named queue in the given
 * account, with a uid and metadata uid of its own as Security Hub gives each control finding.
 */
export function securityHubControlFinding(queue: string, account: string): Record<string, unknown> {
  controlTemplate ??= readFileSync(CONTROL_FIXTURE, "utf8");
  const finding = JSON.parse(
    controlTemplate.replaceAll(CONTROL_QUEUE, queue).replaceAll(CONTROL_ACCOUNT, account),
  ) as { finding_info: { uid: string }; metadata: { uid: string } };
  const digest = createHash("sha256").update(`${account}/${queue}`).digest("hex");
  const uuid = [
    digest.slice(0, 8),
    digest.slice(8, 12),
    digest.slice(12, 16),
    digest.slice(16, 20),
    digest.slice(20, 32),
  ];
  finding.finding_info.uid = finding.finding_info.uid.replace(/finding\/[^/]+$/, `finding/${uuid.join("-")}`);
  finding.metadata.uid = digest.slice(0, 56);
  return finding as unknown as Record<string, unknown>;
}

const OCSF_SEVERITY_IDS: Record<string, number> = {
  Informational: 1,
  Low: 2,
  Medium: 3,
  High: 4,
  Critical: 5,
};

/** An OCSF finding with a severity label (Low, High...) and its severity_id, as the new Security Hub sets both. */
export function withOcsfSeverity(finding: Record<string, unknown>, label: string): Record<string, unknown> {
  const severity = label.charAt(0).toUpperCase() + label.slice(1).toLowerCase();
  return { ...finding, severity, severity_id: OCSF_SEVERITY_IDS[severity] };
}

/** An OCSF finding once its check passes: compliance Pass, Informational, and Resolved as Security Hub sets it. */
export function passedOcsf(finding: Record<string, unknown>): Record<string, unknown> {
  return {
    ...withOcsfSeverity(finding, "Informational"),
    status: "Resolved",
    status_id: 4,
    compliance: { ...(finding.compliance as object), status: "Pass", status_id: 1 },
  };
}

/** An EventBridge event of Security Hub around findings, with the envelope fields Security Hub's own events carry. */
export function securityHubEvent(
  detailType: typeof IMPORTED | typeof IMPORTED_V2,
  envelope: { account: string; region: string; resources: string[] },
  findings: unknown[],
  time: Date,
): Record<string, unknown> {
  return JSON.parse(
    securityHubEventText(
      detailType,
      envelope,
      findings.map((finding) => JSON.stringify(finding)),
      time,
    ),
  ) as Record<string, unknown>;
}

/**
 * The same event as the JSON text EventBridge delivers, around findings already written as JSON text: an
 * organization's millions of imports are written out once each, without an object to serialize.
 */
export function securityHubEventText(
  detailType: typeof IMPORTED | typeof IMPORTED_V2,
  envelope: { account: string; region: string; resources: string[] },
  findings: string[],
  time: Date,
): string {
  const json = JSON.stringify;
  return (
    `{"version":"0","id":"${randomUUID()}","detail-type":${json(detailType)},"source":"aws.securityhub",` +
    `"account":${json(envelope.account)},"time":${json(time.toISOString().replace(/\.\d{3}Z$/, "Z"))},` +
    `"region":${json(envelope.region)},"resources":${json(envelope.resources)},` +
    `"detail":{"findings":[${findings.join(",")}]}}`
  );
}

/**
 * The event EventBridge emits around findings (one, usually), with account and Region of the first finding, as
 * Security Hub's own events carry them: "Security Hub Findings - Imported" for ASFF, "Findings Imported V2" for
 * the new Security Hub's OCSF (whose resources name the finding's metadata.uid).
 */
export function importedEvent(findings: unknown[], time = new Date()): Record<string, unknown> {
  const first = readFinding(findings[0]);
  const finding = first.ok ? first.finding : undefined;
  const envelope = { account: finding?.account ?? TEMPLATE_ACCOUNT, region: finding?.region ?? "us-east-1" };
  if (finding?.format === "ocsf") {
    const resources = findings.map((raw) =>
      String((raw as { metadata?: { uid?: string } }).metadata?.uid ?? ""),
    );
    return securityHubEvent(IMPORTED_V2, { ...envelope, resources }, findings, time);
  }
  const resources = findings.map((raw) => {
    const reading = readFinding(raw);
    return reading.ok ? (reading.finding.productArn ?? "") : "";
  });
  return securityHubEvent(IMPORTED, { ...envelope, resources }, findings, time);
}
