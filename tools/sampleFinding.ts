import { parseArgs } from "util";
import { isSeverityLabel } from "../handler/finding/model";
import { UsageError, runTool } from "./cli";
import {
  electricEyeFinding,
  importedEvent,
  passedOcsf,
  passedReimport,
  withOcsfSeverity,
} from "./simulation/findings";

// A clearly labelled ElectricEye-shaped finding for `aws securityhub batch-import-findings`, to prove a
// deployment end to end: Security Hub emits its Imported event, the stack's rule admits it, the function pages.
// EventBridge refuses put-events with an aws.* source, so importing a finding is the way through the real rule.

export const SAMPLE_ID_SUFFIX = "electriceye-pagerduty-sample";

export interface SampleOptions {
  account: string;
  region: string;
  severity: string;
  passed: boolean;
  now: Date;
}

const SAMPLE_TITLE = "[SAMPLE] electriceye-pagerduty end-to-end check: not a real finding";
const SAMPLE_DESCRIPTION =
  "A sample finding imported to prove that Security Hub findings reach PagerDuty. No bucket is involved.";
const SAMPLE_UID = `arn:aws:s3:::electriceye-pagerduty-sample-bucket/${SAMPLE_ID_SUFFIX}`;

export function sampleFinding(options: SampleOptions): Record<string, unknown> {
  const base = electricEyeFinding(
    "s3-public-policy-critical",
    "electriceye-pagerduty-sample-bucket",
    options.account,
  );
  const time = options.now.toISOString();
  const finding = {
    ...base,
    Id: SAMPLE_UID,
    ProductArn: `arn:aws:securityhub:${options.region}:${options.account}:product/${options.account}/default`,
    Title: SAMPLE_TITLE,
    Description: SAMPLE_DESCRIPTION,
    Severity: { Label: options.severity },
    Workflow: { Status: "NEW" },
    RecordState: "ACTIVE",
    FirstObservedAt: time,
    CreatedAt: time,
    UpdatedAt: time,
    Resources: [{ Type: "Other", Id: SAMPLE_ID_SUFFIX, Partition: "aws", Region: options.region }],
  };
  return options.passed ? passedReimport(finding) : finding;
}

/** The same sample in OCSF, in the shape of ElectricEye's OCSF output (its product name, its ASFF product ARN). */
export function sampleOcsfFinding(options: SampleOptions): Record<string, unknown> {
  const time = options.now.getTime();
  const finding = withOcsfSeverity(
    {
      activity_id: 1,
      activity_name: "Create",
      category_name: "Findings",
      category_uid: 2,
      class_name: "Compliance Finding",
      class_uid: 2003,
      type_name: "Compliance Finding: Create",
      type_uid: 200301,
      status: "New",
      status_id: 1,
      time,
      metadata: {
        uid: SAMPLE_UID,
        version: "1.1.0",
        product: { name: "ElectricEye", vendor_name: "ElectricEye" },
      },
      cloud: {
        provider: "AWS",
        region: options.region,
        account: { uid: options.account, type: "AWS Account", type_uid: 10 },
      },
      compliance: { status: "Fail", status_id: 3 },
      finding_info: {
        uid: SAMPLE_UID,
        title: SAMPLE_TITLE,
        desc: SAMPLE_DESCRIPTION,
        types: ["Software and Configuration Checks"],
        created_time: time,
        first_seen_time: time,
        modified_time: time,
        product_uid: `arn:aws:securityhub:${options.region}:${options.account}:product/${options.account}/default`,
      },
      resources: [{ type: "Other", uid: SAMPLE_ID_SUFFIX, region: options.region, cloud_partition: "aws" }],
    },
    options.severity,
  );
  return options.passed ? passedOcsf(finding) : finding;
}

const USAGE = `usage: npm run -s sample-finding -- --account ACCOUNT_ID --region REGION [--severity LABEL] [--passed] > sample.json
       aws securityhub batch-import-findings --region REGION --findings file://sample.json
  --severity  the label to import with (default CRITICAL, which every stack pages on)
  --passed    the same finding, passed and archived: its import resolves the page
  --event     print the "Security Hub Findings - Imported" event instead, to put into a queue directly
  --format    asff (default) or ocsf: the sample as an OCSF finding, and with --event in a "Findings Imported V2"
              event. No API imports OCSF findings into Security Hub: send the event to the stack's standard
              queue (aws sqs send-message --message-body file://event.json), or give the file to npm run render`;

if (require.main === module) {
  runTool("sample-finding", () => {
    const { values } = parseArgs({
      options: {
        account: { type: "string" },
        region: { type: "string" },
        severity: { type: "string" },
        passed: { type: "boolean" },
        event: { type: "boolean" },
        format: { type: "string" },
        help: { type: "boolean" },
      },
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    if (values.account === undefined || !/^\d{12}$/.test(values.account)) {
      throw new UsageError(`--account must be a 12-digit AWS account ID\n${USAGE}`);
    }
    if (values.region === undefined || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(values.region)) {
      throw new UsageError(`--region must be an AWS Region such as us-east-1\n${USAGE}`);
    }
    const severity = values.severity ?? "CRITICAL";
    if (!isSeverityLabel(severity))
      throw new UsageError(`--severity "${severity}" is not INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL`);
    const format = values.format ?? "asff";
    if (format !== "asff" && format !== "ocsf")
      throw new UsageError(`--format "${format}" is not asff or ocsf`);
    const finding = (format === "ocsf" ? sampleOcsfFinding : sampleFinding)({
      account: values.account,
      region: values.region,
      severity,
      passed: values.passed === true,
      now: new Date(),
    });
    const output = values.event === true ? importedEvent([finding]) : [finding];
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  });
}
