import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import { readDocument } from "../../handler/findings";

export const FIXTURE_DIR = join(__dirname, "..", "fixtures", "asff");

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((name) => name.endsWith(".json"))
    .sort();
}

export function loadFixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, name), "utf8")) as unknown;
}

/** The findings of a fixture, whatever its shape. */
export function findingsOf(name: string): Record<string, unknown>[] {
  const reading = readDocument(loadFixture(name));
  if (reading === undefined) throw new Error(`${name} holds no findings`);
  return reading.findings.map(({ finding }) => finding as Record<string, unknown>);
}

export function findingOf(name: string, index = 0): Record<string, unknown> {
  const finding = findingsOf(name)[index];
  if (finding === undefined) throw new Error(`${name} has no finding ${index}`);
  return structuredClone(finding);
}

let eventCounter = 0;

/** A "Security Hub Findings - Imported" event as EventBridge delivers it, around the given findings. */
export function importedEvent(
  findings: unknown[],
  detailType = "Security Hub Findings - Imported",
): Record<string, unknown> {
  eventCounter += 1;
  return {
    version: "0",
    id: `00000000-0000-0000-0000-${String(eventCounter).padStart(12, "0")}`,
    "detail-type": detailType,
    source: "aws.securityhub",
    account: "111122223333",
    time: "2024-05-01T12:00:05Z",
    region: "us-east-1",
    resources: [],
    detail: { findings },
  };
}

/** An SQS batch as the event source mapping hands it to the function, one record per body. */
export function sqsEvent(bodies: string[], receiveCount = 1): { Records: Record<string, unknown>[] } {
  return {
    Records: bodies.map((body, index) => ({
      messageId: `message-${index + 1}`,
      receiptHandle: `receipt-${index + 1}`,
      body,
      attributes: { ApproximateReceiveCount: String(receiveCount) },
      messageAttributes: {},
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:111122223333:electriceye-pagerduty-findings",
      awsRegion: "us-east-1",
    })),
  };
}
