import { readFinding } from "../../handler/finding/read";
import { dedupKeyOf } from "../../handler/finding/mapping";
import {
  electricEyeFinding,
  passedOcsf,
  passedReimport,
  securityHubControlFinding,
  withOcsfSeverity,
} from "../simulation/findings";

// The findings the explorer imports: real published findings (test/fixtures) in the shapes their products send
// them, one version per scan. Two ElectricEye ASFF findings, and a Security Hub control finding that arrives in both
// feeds (OCSF from the new Security Hub, and its ASFF copy: one dedup key).

type Json = Record<string, unknown>;

/** What a product's scan says of a finding. */
export type Condition =
  { kind: "failing"; severity: "CRITICAL" | "HIGH" | "MEDIUM" } | { kind: "passed" } | { kind: "archived" };

export interface Subject {
  name: string;
  /** The documents of one scan, one per feed the finding arrives in. */
  documents(condition: Condition, updatedAt: number): Json[];
  /** Whether a person can change its workflow in the Security Hub console (ASFF findings). */
  asffOnly: boolean;
}

const ACCOUNT = "111122223333";
const CONTROL_ASFF_PRODUCT = "arn:aws:securityhub:us-east-2::product/aws/securityhub";

function asffVersion(base: Json, condition: Condition, updatedAt: number): Json {
  const iso = new Date(updatedAt).toISOString();
  if (condition.kind === "passed") return { ...passedReimport(base), UpdatedAt: iso };
  return {
    ...base,
    Severity: {
      ...(base.Severity as object),
      Label: condition.kind === "failing" ? condition.severity : "HIGH",
    },
    Compliance: { ...(base.Compliance as object), Status: "FAILED" },
    RecordState: condition.kind === "archived" ? "ARCHIVED" : "ACTIVE",
    UpdatedAt: iso,
  };
}

function ocsfVersion(base: Json, condition: Condition, updatedAt: number): Json {
  const failing = withOcsfSeverity(
    {
      ...base,
      compliance: { ...(base.compliance as object), status: "Fail", status_id: 3 },
      status: "New",
      status_id: 1,
    },
    condition.kind === "failing" ? condition.severity : "HIGH",
  );
  // Archiving has no OCSF counterpart: the new Security Hub resolves the finding instead.
  const version = condition.kind === "failing" ? failing : passedOcsf(failing);
  const { time_dt: _time, ...rest } = version;
  const { modified_time_dt: _modified, ...info } = base.finding_info as Json;
  return { ...rest, time: updatedAt, finding_info: { ...info, modified_time: updatedAt } };
}

/** The ASFF copy Security Hub makes of a finding of the new Security Hub: same Id, the ASFF product ARN. */
function asffCopyOf(ocsf: Json, condition: Condition, updatedAt: number): Json {
  const reading = readFinding(ocsf);
  if (!reading.ok) throw new Error(`the control finding does not read: ${reading.reason}`);
  const finding = reading.finding;
  return asffVersion(
    {
      SchemaVersion: "2018-10-08",
      Id: finding.id,
      ProductArn: CONTROL_ASFF_PRODUCT,
      ProductName: "Security Hub",
      ProductFields: { "aws/securityhub/ProductName": "Security Hub" },
      GeneratorId: "security-control/SQS.1",
      AwsAccountId: finding.account,
      Region: finding.region,
      Types: ["Software and Configuration Checks/Industry and Regulatory Standards"],
      CreatedAt: new Date(updatedAt).toISOString(),
      Title: finding.title,
      Description: finding.description,
      Severity: { Label: "HIGH" },
      Compliance: { Status: "FAILED" },
      Workflow: { Status: "NEW" },
      RecordState: "ACTIVE",
      Resources: [{ Type: "AwsSqsQueue", Id: finding.resources[0]?.id ?? "unknown" }],
    },
    condition,
    updatedAt,
  );
}

export function subjects(): Subject[] {
  const bucket = (template: "s3-public-policy-critical" | "s3-encryption-high", name: string): Subject => {
    const base = electricEyeFinding(template, name, ACCOUNT);
    return {
      name,
      asffOnly: true,
      documents: (condition, updatedAt) => [asffVersion(base, condition, updatedAt)],
    };
  };
  const control = securityHubControlFinding("orders-queue", ACCOUNT);
  return [
    bucket("s3-public-policy-critical", "bucket-a"),
    bucket("s3-encryption-high", "bucket-b"),
    {
      name: "queue-c (both feeds)",
      asffOnly: false,
      documents: (condition, updatedAt) => [
        ocsfVersion(control, condition, updatedAt),
        asffCopyOf(control, condition, updatedAt),
      ],
    },
  ];
}

/** The dedup key the stack gives a finding's documents (the same for both feeds of one finding). */
export function dedupKeyOfDocument(document: Json): string {
  const reading = readFinding(document);
  if (!reading.ok) throw new Error(`a generated finding does not read: ${reading.reason}`);
  return dedupKeyOf(reading.finding.productArn, reading.finding.id);
}
