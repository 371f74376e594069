import { parseArgs } from "util";
import { isSeverityLabel } from "../handler/finding/model";
import { UsageError, runTool } from "./cli";
import { electricEyeFinding, importedEvent, passedReimport } from "./simulation/findings";

// A clearly labelled ElectricEye-shaped finding for `aws securityhub batch-import-findings`, to prove a
// deployment end to end: Security Hub emits its Imported event, the stack's rule admits it, the function pages.
// EventBridge refuses put-events with an aws.* source, so importing a finding is the way through the real rule.

export const SAMPLE_ID_SUFFIX = "electriceye-pagerduty-sample";

export function sampleFinding(options: {
  account: string;
  region: string;
  severity: string;
  passed: boolean;
  now: Date;
}): Record<string, unknown> {
  const base = electricEyeFinding(
    "s3-public-policy-critical",
    "electriceye-pagerduty-sample-bucket",
    options.account,
  );
  const time = options.now.toISOString();
  const finding = {
    ...base,
    Id: `arn:aws:s3:::electriceye-pagerduty-sample-bucket/${SAMPLE_ID_SUFFIX}`,
    ProductArn: `arn:aws:securityhub:${options.region}:${options.account}:product/${options.account}/default`,
    Title: "[SAMPLE] electriceye-pagerduty end-to-end check: not a real finding",
    Description:
      "A sample finding imported to prove that Security Hub findings reach PagerDuty. No bucket is involved.",
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

const USAGE = `usage: npm run -s sample-finding -- --account ACCOUNT_ID --region REGION [--severity LABEL] [--passed] > sample.json
       aws securityhub batch-import-findings --region REGION --findings file://sample.json
  --severity  the label to import with (default CRITICAL, which every stack pages on)
  --passed    the same finding, passed and archived: its import resolves the page
  --event     print the "Security Hub Findings - Imported" event instead, to put into a queue directly`;

if (require.main === module) {
  runTool("sample-finding", () => {
    const { values } = parseArgs({
      options: {
        account: { type: "string" },
        region: { type: "string" },
        severity: { type: "string" },
        passed: { type: "boolean" },
        event: { type: "boolean" },
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
    const finding = sampleFinding({
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
