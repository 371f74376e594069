import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import { readDocument } from "../../handler/finding/events";
import type { Finding } from "../../handler/finding/model";
import { readFinding } from "../../handler/finding/read";

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

/** A raw finding read as the function reads it; the test fails when it cannot be read. */
export function asFinding(raw: unknown): Finding {
  const reading = readFinding(raw);
  if (!reading.ok) throw new Error(`finding cannot be read: ${reading.reason}`);
  return reading.finding;
}
