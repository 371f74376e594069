import { randomUUID } from "crypto";
import { readFileSync } from "fs";
import { join } from "path";
import { readFinding } from "../../handler/finding/read";

// Realistic ElectricEye findings for the benchmark and the local walk-through, made from the published
// ElectricEye findings kept as test fixtures (test/fixtures/asff/SOURCES.md names their sources).

const FIXTURES = join(__dirname, "..", "..", "test", "fixtures", "asff");
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

/**
 * The event EventBridge emits around findings (one, usually), with account and Region of the first finding, as
 * Security Hub's own events carry them: "Security Hub Findings - Imported" for ASFF, "Findings Imported V2" for
 * the new Security Hub's OCSF (whose resources name the finding's metadata.uid).
 */
export function importedEvent(findings: unknown[], time = new Date()): Record<string, unknown> {
  const first = readFinding(findings[0]);
  const finding = first.ok ? first.finding : undefined;
  if (finding?.format === "ocsf") {
    return {
      version: "0",
      id: randomUUID(),
      "detail-type": "Findings Imported V2",
      source: "aws.securityhub",
      account: finding.account ?? TEMPLATE_ACCOUNT,
      time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: finding.region ?? "us-east-1",
      resources: findings.map((raw) => String((raw as { metadata?: { uid?: string } }).metadata?.uid ?? "")),
      detail: { findings },
    };
  }
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Security Hub Findings - Imported",
    source: "aws.securityhub",
    account: finding?.account ?? TEMPLATE_ACCOUNT,
    time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: finding?.region ?? "us-east-1",
    resources: findings.map((raw) => {
      const reading = readFinding(raw);
      return reading.ok ? (reading.finding.productArn ?? "") : "";
    }),
    detail: { findings },
  };
}
