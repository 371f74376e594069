import assert from "assert/strict";
import { systemClock } from "../handler/clock";
import { readDocument } from "../handler/finding/events";
import { electricEyeFinding, passedReimport, importedEvent } from "../tools/simulation/findings";
import { findingOf, fixtureNames, loadFixture, sqsEvent } from "./support/fixtures";
import {
  DEAD_LETTER_QUEUE,
  LANE_QUEUE,
  PARAMETER_NAME,
  ROUTING_KEY,
  STATE_TABLE,
  failures,
  remaining,
  startWorld,
  type World,
} from "./support/world";
import { AwsError } from "../standins/awsJson";
import { createServer, type Socket } from "net";
import { SSMClient } from "@aws-sdk/client-ssm";
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  SQSClient,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { AWS_CLIENT_CONFIG } from "../handler/awsClients";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDynamoPacingStore } from "../handler/state/dynamo";
import type { PacingStore } from "../handler/delivery/pacing";
import { visibilitySecondsFor } from "../handler/delivery/handBack";
import { createSsmReader } from "../handler/ssm";
import { ACCEPT_ALL } from "../handler/finding/filter";
import { deliveryPlan, functionSettings } from "../infra/tuning";

/** The events a fixture stands for: itself when it is an event, otherwise its findings in one Imported event. */
function eventsOf(name: string): unknown[] {
  const document = loadFixture(name);
  if (
    Array.isArray(document) &&
    document.every((item) => typeof item === "object" && item !== null && "detail-type" in item)
  ) {
    return document;
  }
  if (typeof document === "object" && document !== null && "detail-type" in document) return [document];
  const reading = readDocument(document);
  assert.ok(reading !== undefined, name);
  return [importedEvent(reading.findings.map(({ finding }) => finding))];
}

function bodies(...events: unknown[]): string[] {
  return events.map((event) => JSON.stringify(event));
}

describe("the handler against the stand-ins, over real HTTP", () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(() => world.close());

  it("delivers every finding of every fixture, each accepted by the strict PagerDuty stand-in", async () => {
    // Resolves go out for findings without alert state too, so that every finding of every fixture is sent.
    const handler = world.handler({}, { resolveUntrackedUntil: Date.now() + 3600_000 });
    let findings = 0;
    for (const name of fixtureNames()) {
      const events = eventsOf(name);
      for (const event of events) {
        const reading = readDocument(event);
        findings += reading?.findings.length ?? 0;
      }
      const response = await handler(sqsEvent(bodies(...events)));
      assert.deepEqual(failures(response), [], name);
    }
    const counts = world.pagerduty.model.counts();
    assert.equal(counts.rejected, 0);
    assert.equal(counts.rateLimited, 0);
    assert.equal(counts.accepted, findings);
    assert.equal(world.sqs.messages(DEAD_LETTER_QUEUE).length, 0);
    // The Insight Results event is skipped with a log line, not failed.
    assert.ok(
      world.logs.some(
        (line) => line.message === "event skipped" && /Insight Results/.test(String(line.reason)),
      ),
    );
  });

  it("pages once for a finding and its re-import, and the PASSED re-import leaves no open alert", async () => {
    const handler = world.handler();
    const failing = findingOf("electriceye-s3-public-bucket-policy.json");
    await handler(sqsEvent(bodies(importedEvent([failing]))));
    await handler(sqsEvent(bodies(importedEvent([failing]))));
    assert.equal(world.pagerduty.model.openAlerts().length, 1);
    assert.equal(world.pagerduty.model.counts().requests, 1, "the unchanged re-import sends nothing");
    const passed = passedReimport(failing);
    const response = await handler(sqsEvent(bodies(importedEvent([passed]))));
    assert.deepEqual(failures(response), []);
    assert.deepEqual(world.pagerduty.model.openAlerts(), []);
    assert.equal(world.pagerduty.model.alerts()[0]?.status, "resolved");
  });

  it("logs one structured line per finding outcome", async () => {
    await world.handler()(sqsEvent(bodies(importedEvent([findingOf("electriceye-s3-encryption.json")]))));
    const line = world.logs.find((entry) => entry.message === "finding outcome");
    assert.ok(line !== undefined);
    assert.equal(line.findingId, "arn:aws:s3:::example-bucket-name/s3-bucket-encryption-check");
    assert.match(String(line.dedupKey), /^securityhub-[0-9a-f]{64}$/);
    assert.equal(line.action, "trigger");
    assert.equal(line.outcome, "accepted");
    assert.equal(line.pagerdutyStatus, 202);
    assert.equal(line.attempts, 1);
  });

  describe("PagerDuty's answers", () => {
    it("429 mid-batch: stops sending and hands back the record and everything after it", async () => {
      await world.close();
      world = await startWorld({ ratePerMinute: 2 });
      const events = fixtureNames()
        .filter((name) => name.startsWith("electriceye-s3"))
        .flatMap(eventsOf);
      // The same findings on other buckets: distinct findings, each a page of its own.
      const renamed = (event: unknown) =>
        JSON.parse(JSON.stringify(event).replaceAll("example-bucket-name", "other-bucket")) as unknown;
      const batch = bodies(...events, ...events.map(renamed));
      const response = await world.handler()(sqsEvent(batch));
      assert.deepEqual(failures(response), ["message-3", "message-4"]);
      const counts = world.pagerduty.model.counts();
      assert.equal(counts.accepted, 2);
      assert.equal(counts.rateLimited, 1, "message-4 is not attempted after the 429");
    });

    it("5xx then success: retries with backoff and delivers", async () => {
      world.pagerduty.injectFault({ kind: "status", status: 503 }, 2);
      const response = await world.handler()(sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))));
      assert.deepEqual(failures(response), []);
      assert.equal(world.pagerduty.model.counts().accepted, 1);
      assert.equal(world.logs.find((line) => line.message === "finding outcome")?.attempts, 3);
    });

    it("a dropped connection is retried like a 5xx", async () => {
      world.pagerduty.injectFault({ kind: "drop" });
      const response = await world.handler()(sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))));
      assert.deepEqual(failures(response), []);
      assert.equal(world.logs.find((line) => line.message === "finding outcome")?.attempts, 2);
    });

    it("timeout: a request past its timeout is abandoned and retried", async () => {
      world.pagerduty.injectFault({ kind: "delay", ms: 1500 });
      const handler = world.handler({}, { requestTimeoutSeconds: 0.3 });
      const response = await handler(sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))));
      assert.deepEqual(failures(response), []);
      assert.equal(world.logs.find((line) => line.message === "finding outcome")?.attempts, 2);
    });

    it("keeps retrying within the invocation's remaining time, then hands the record back", async () => {
      world.pagerduty.injectFault({ kind: "status", status: 500 }, 1000);
      const handler = world.handler({ random: () => 0.01 }, { requestTimeoutSeconds: 0.2 });
      const started = Date.now();
      const response = await handler(
        sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))),
        remaining(4000),
      );
      assert.deepEqual(failures(response), ["message-1"]);
      assert.ok(Date.now() - started < 4000, "returned before the invocation's end");
      const outcome = world.logs.find((line) => line.message === "finding outcome");
      assert.equal(outcome?.outcome, "handBack");
      assert.ok(Number(outcome?.attempts) > 1);
    });

    it("400 is permanent: the record goes to the dead-letter queue with PagerDuty's errors, once", async () => {
      await world.close();
      world = await startWorld({ routingKeys: ["00000000000000000000000000000000"] });
      const events = eventsOf("electriceye-s3-encryption.json");
      const good = eventsOf("electriceye-s3-public-bucket-policy.json");
      const response = await world.handler()(sqsEvent(bodies(...events, ...good)));
      assert.deepEqual(failures(response), []);
      assert.equal(world.pagerduty.model.counts().requests, 2, "not retried");
      const letters = world.sqs.messages(DEAD_LETTER_QUEUE);
      assert.equal(letters.length, 2);
      assert.equal(letters[0]?.body, JSON.stringify(events[0]));
      assert.match(
        String(letters[0]?.attributes.reason),
        /PagerDuty rejected finding .*s3-bucket-encryption-check \(HTTP 400\): Invalid routing key/,
      );
      assert.equal(letters[0]?.attributes.sourceMessageId, "message-1");
    });
  });

  describe("handing records back", () => {
    const sqs = () => new SQSClient({ ...AWS_CLIENT_CONFIG, useQueueUrlAsEndpoint: false });
    const enqueue = async (...events: unknown[]) => {
      for (const body of bodies(...events))
        await sqs().send(
          new SendMessageCommand({ QueueUrl: world.sqs.queueUrl(LANE_QUEUE), MessageBody: body }),
        );
    };

    it("after a 429, a handed-back record is visible again when the hold-off ends (ChangeMessageVisibility), not after the queue's whole visibility timeout", async () => {
      await enqueue(
        importedEvent([electricEyeFinding("s3-public-policy-critical", "visibility-a", "111122223333")]),
        importedEvent([electricEyeFinding("s3-public-policy-critical", "visibility-b", "111122223333")]),
      );
      world.pagerduty.injectFault({ kind: "status", status: 429 });
      const batch = world.sqs.receive(LANE_QUEUE);
      const handedBack = failures(await world.handler()(batch));
      assert.equal(handedBack.length, 2);
      for (const messageId of handedBack) {
        const seconds = world.sqs.invisibleFor(messageId);
        assert.ok(seconds > 15 && seconds <= 20, `visible again in ${seconds} s`);
      }
    });

    it("with the key's schedule full, the record received most often is sent first and the others come back each at its own slot, half a send window early", async () => {
      await enqueue(
        ...["slot-a", "slot-b", "slot-c", "slot-d", "slot-e"].map((resource) =>
          importedEvent([electricEyeFinding("s3-public-policy-critical", resource, "111122223333")]),
        ),
      );
      const batch = world.sqs.receive(LANE_QUEUE);
      // The last record was handed back three times before: it has waited longest.
      const oldest = batch.Records[4] as { messageId: string; attributes: Record<string, string> };
      oldest.attributes.ApproximateReceiveCount = "4";
      // One event every 10 s, and a send window of 4.8 s: one slot in this invocation.
      const handler = world.handler({}, { eventsPerMinute: 6, requestTimeoutSeconds: 0.2 });
      const handedBack = failures(await handler(batch, remaining(8000)));
      const ids = batch.Records.map((record) => String(record.messageId));
      assert.deepEqual(handedBack, ids.slice(0, 4));
      assert.equal(world.pagerduty.model.counts().accepted, 1);
      assert.ok(!handedBack.includes(oldest.messageId));
      // Slots at 10, 20, 30 and 40 s after the one taken, each received half the 4.8 s window (2.4 s) before it.
      const seconds = handedBack.map((messageId) => world.sqs.invisibleFor(messageId));
      assert.ok(
        seconds[0] !== undefined && seconds[0] > 5 && seconds[0] <= 8,
        `visible again in ${seconds.join(", ")} s`,
      );
      seconds.slice(1).forEach((later, index) => {
        const gap = later - (seconds[index] ?? 0);
        assert.ok(gap > 9 && gap < 11, `visible again in ${seconds.join(", ")} s`);
      });
    });

    it("spends the queue's receives over hours in a long outage: prompt for three receives, then doubling to 12 h", () => {
      const now = 1_000_000;
      assert.equal(visibilitySecondsFor(now + 20_000, now, 20_000, 1), 20);
      assert.equal(visibilitySecondsFor(now + 1_500, now, 20_000, 3), 2);
      assert.equal(visibilitySecondsFor(undefined, now, 20_000, 2), 20);
      assert.equal(visibilitySecondsFor(now + 1_500, now, 20_000, 5), 240);
      assert.equal(visibilitySecondsFor(now, now, 20_000, 30), 43_200);
      // Waiting for a slot of the key's schedule is no outage: the record comes back at its slot.
      assert.equal(visibilitySecondsFor(now + 1_500, now, 20_000, 5, true), 2);
      const tenReceives = Array.from({ length: 10 }, (_, index) =>
        visibilitySecondsFor(undefined, now, 20_000, index + 1),
      );
      assert.ok(tenReceives.reduce((total, seconds) => total + seconds, 0) > 4 * 3600);
    });

    it("the SQS stand-in checks ChangeMessageVisibility as SQS does: the current receipt handle, 0 to 43200 s, distinct batch ids", async () => {
      await enqueue(
        importedEvent([electricEyeFinding("s3-public-policy-critical", "visibility-c", "111122223333")]),
      );
      const [record] = world.sqs.receive(LANE_QUEUE).Records;
      const QueueUrl = world.sqs.queueUrl(LANE_QUEUE);
      const receiptHandle = String(record?.receiptHandle);
      await assert.rejects(
        sqs().send(
          new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: "forged", VisibilityTimeout: 5 }),
        ),
        /ReceiptHandleIsInvalid|receipt handle is invalid/,
      );
      await assert.rejects(
        sqs().send(
          new ChangeMessageVisibilityCommand({
            QueueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: 43_201,
          }),
        ),
        /between 0 and 43200/,
      );
      await assert.rejects(
        sqs().send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl,
            Entries: [
              { Id: "a", ReceiptHandle: receiptHandle, VisibilityTimeout: 1 },
              { Id: "a", ReceiptHandle: receiptHandle, VisibilityTimeout: 1 },
            ],
          }),
        ),
        /same Id|BatchEntryIdsNotDistinct/,
      );
      await sqs().send(
        new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: 0 }),
      );
      assert.equal(world.sqs.invisibleFor(String(record?.messageId)), 0);
      await assert.rejects(
        sqs().send(
          new ChangeMessageVisibilityCommand({
            QueueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: 5,
          }),
        ),
        /not in flight|MessageNotInflight/,
      );
    });
  });

  describe("timeouts", () => {
    it("pages with the shortest function timeout accepted (10 s): the request timeout it is deployed with leaves time to send", async () => {
      const plan = deliveryPlan({
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        recordConcurrency: 10,
        maximumConcurrency: 2,
        functionTimeoutSeconds: 10,
        maxReceiveCount: 10,
        eventsPerMinute: 115,
        routingKeyTtlSeconds: 300,
        memorySizeMb: 256,
        logRetentionDays: 30,
      });
      const deployed = functionSettings({
        stack: "test",
        parameterName: PARAMETER_NAME,
        pagerDutyRegion: "us",
        filter: ACCEPT_ALL,
        plan,
        deadLetterQueueUrl: world.settings.deadLetterQueueUrl ?? "",
        stateTable: STATE_TABLE,
        alertState: { refreshHours: 24, resolveUntrackedUntil: undefined },
        sync: {
          enabled: false,
          webhookEndpoint: false,
          customAction: { identifier: "PageOnCallTest", name: "Page on-call" },
          serviceName: "test",
        },
      });
      const handler = world.handler({}, { requestTimeoutSeconds: deployed.requestTimeoutSeconds });
      const events = [0, 1, 2].map((index) =>
        importedEvent([electricEyeFinding("s3-encryption-high", `short-timeout-${index}`, "111122223333")]),
      );
      assert.deepEqual(failures(await handler(sqsEvent(bodies(...events)), remaining(10_000))), []);
      assert.equal(world.pagerduty.model.openAlerts().length, 3);
    });

    it("an AWS call that hangs ends at the clients' request timeout, not at the function's", async () => {
      const sockets: Socket[] = [];
      const hung = createServer((socket) => void sockets.push(socket));
      await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
      const { port } = hung.address() as { port: number };
      const client = new SSMClient({
        ...AWS_CLIENT_CONFIG,
        maxAttempts: 1,
        endpoint: `http://127.0.0.1:${port}`,
      });
      const started = Date.now();
      try {
        await assert.rejects(createSsmReader(client)(PARAMETER_NAME), /timed? ?out|Timeout/i);
        assert.ok(Date.now() - started < 4_000, `${Date.now() - started} ms`);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => hung.close(resolve));
      }
    });
  });

  describe("the routing key from SSM", () => {
    it("an SSM failure names the parameter and the error code, and hands the records back", async () => {
      world.ssm.failNext(
        "GetParameter",
        new AwsError("AccessDeniedException", "not authorized to perform ssm:GetParameter"),
      );
      const response = await world.handler()(
        sqsEvent(
          bodies(
            ...eventsOf("electriceye-s3-encryption.json"),
            ...eventsOf("electriceye-s3-public-bucket-policy.json"),
          ),
        ),
      );
      assert.deepEqual(failures(response), ["message-1", "message-2"]);
      const error = world.logs.find((line) => line.message === "routing key unavailable");
      assert.match(
        String(error?.error),
        /SSM parameter "electriceye-pagerduty": AccessDeniedException: not authorized/,
      );
      assert.equal(world.pagerduty.model.counts().requests, 0);
    });

    it("a missing parameter is ParameterNotFound, by name", async () => {
      const response = await world.handler(
        {},
        { parameterName: "no-such-parameter" },
      )(sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))));
      assert.deepEqual(failures(response), ["message-1"]);
      assert.match(
        String(world.logs.find((line) => line.message === "routing key unavailable")?.error),
        /"no-such-parameter": ParameterNotFound/,
      );
    });

    it("waits out throttling that outlasts the SDK's own retries, within the invocation", async () => {
      world.ssm.failNext("GetParameter", new AwsError("ThrottlingException", "Rate exceeded"), 3);
      const response = await world.handler()(sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))));
      assert.deepEqual(failures(response), []);
      assert.equal(world.pagerduty.model.counts().accepted, 1);
      const retry = world.logs.find((line) => line.message === "PagerDuty routing key read failed; retrying");
      assert.match(String(retry?.error), /ThrottlingException: Rate exceeded/);
    });

    it("hands the records back, naming ThrottlingException, when throttling outlasts the invocation", async () => {
      world.ssm.failNext("GetParameter", new AwsError("ThrottlingException", "Rate exceeded"), 1000);
      const started = Date.now();
      const response = await world.handler()(
        sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))),
        remaining(5000),
      );
      assert.deepEqual(failures(response), ["message-1"]);
      assert.ok(Date.now() - started < 5000);
      assert.match(
        String(world.logs.find((line) => line.message === "routing key unavailable")?.error),
        /"electriceye-pagerduty": ThrottlingException: Rate exceeded/,
      );
    });

    it("refuses a parameter value that is not a routing key, without printing it", async () => {
      world.ssm.putParameter(PARAMETER_NAME, "https://events.pagerduty.com/integration/secret-ish/enqueue");
      const response = await world.handler()(sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))));
      assert.deepEqual(failures(response), ["message-1"]);
      const error = String(world.logs.find((line) => line.message === "routing key unavailable")?.error);
      assert.match(
        error,
        /does not hold a PagerDuty Events API v2 routing key: it has 59 characters where an Events API v2 routing key has 32/,
      );
      assert.doesNotMatch(error, /secret-ish/);
    });

    it("reads SSM exactly once per time-to-live across invocations, and picks up a rotated key after it", async () => {
      let offset = 0;
      const clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };
      const handler = world.handler({ clock }, { routingKeyTtlSeconds: 60 });
      // A new finding each time: only a page needs the key.
      let sends = 0;
      const send = () =>
        handler(
          sqsEvent([
            JSON.stringify(
              importedEvent([
                electricEyeFinding("s3-encryption-high", `rotation-bucket-${(sends += 1)}`, "111122223333"),
              ]),
            ),
          ]),
        );
      // The key is read during the first send, not before this instant: the offsets below are from it, so a slow
      // machine's own time passing does not age the cached key.
      const firstRead = Date.now();
      for (let invocation = 0; invocation < 5; invocation += 1) await send();
      const reads = () => world.ssm.calls.filter((call) => call.operation === "GetParameter").length;
      assert.equal(reads(), 1);
      const rotated = "f00facc04764012d7bfb002500d5d1a7";
      world.ssm.putParameter(PARAMETER_NAME, rotated);
      offset = firstRead + 59_000 - Date.now();
      await send();
      assert.equal(reads(), 1, "still within the time-to-live");
      offset = firstRead + 60_500 - Date.now();
      await send();
      await send();
      assert.equal(reads(), 2);
      const keys = world.pagerduty.model.accepted().map((event) => event.routingKey);
      assert.deepEqual(keys, [...Array<string>(6).fill(ROUTING_KEY), rotated, rotated]);
      assert.ok(!world.logs.some((line) => JSON.stringify(line).includes(rotated)));
    });

    it("keeps paging with the key it has when a refresh fails", async () => {
      let offset = 0;
      const clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };
      const handler = world.handler({ clock }, { routingKeyTtlSeconds: 60 });
      await handler(sqsEvent(bodies(...eventsOf("electriceye-s3-encryption.json"))));
      offset = 61_000;
      world.ssm.failNext("GetParameter", new AwsError("ThrottlingException", "Rate exceeded"), 3);
      const response = await handler(
        sqsEvent(bodies(...eventsOf("electriceye-s3-public-bucket-policy.json"))),
      );
      assert.deepEqual(failures(response), []);
      assert.equal(world.pagerduty.model.counts().accepted, 2);
      assert.ok(
        world.logs.some(
          (line) => line.message === "PagerDuty routing key refresh failed; using the one read earlier",
        ),
      );
    });
  });

  describe("malformed and foreign input", () => {
    it("dead-letters each broken record with its reason and delivers the rest of the batch", async () => {
      const good = findingOf("electriceye-s3-public-bucket-policy.json");
      const noId = findingOf("electriceye-s3-encryption.json");
      delete noId.Id;
      const batch = [
        "{not json",
        JSON.stringify({ ...importedEvent([]), detail: undefined }),
        JSON.stringify({ ...importedEvent([]), detail: { findings: "nope" } }),
        JSON.stringify(importedEvent([noId, findingOf("jira-cis-1.22-imported-new-event.json")])),
        JSON.stringify(importedEvent([good])),
        JSON.stringify(loadFixture("aws-docs-insight-results-event.json")),
      ];
      const response = await world.handler()(sqsEvent(batch));
      assert.deepEqual(failures(response), []);
      const reasons = world.sqs
        .messages(DEAD_LETTER_QUEUE)
        .map((letter) => [letter.attributes.sourceMessageId, letter.attributes.reason])
        // The records of a batch are worked on together: their dead letters arrive in any order.
        .sort(([a], [b]) => String(a).localeCompare(String(b)));
      assert.deepEqual(reasons, [
        ["message-1", "message body is not JSON: Expected property name or '}' at line 1, column 2"],
        ["message-2", "event has no detail object"],
        ["message-3", "detail.findings is not an array"],
        ["message-4", "finding 1: finding has no Id (ASFF requires one)"],
      ]);
      assert.equal(
        world.pagerduty.model.counts().accepted,
        2,
        "the good finding beside the broken one is delivered too",
      );
    });

    it("hands a broken record back when the dead-letter queue cannot take it, so the queue's redrive keeps it", async () => {
      world.sqs.failNext("SendMessage", new AwsError("AccessDenied", "not authorized"));
      const response = await world.handler()(sqsEvent(["{not json"]));
      assert.deepEqual(failures(response), ["message-1"]);
    });
  });

  describe("direct invocation with an EventBridge event", () => {
    it("delivers and reports the outcome", async () => {
      const [event] = eventsOf("jira-cis-1.22-imported-new-event.json");
      const result = (await world.handler()(event)) as { results: { outcome: string }[] };
      assert.deepEqual(
        result.results.map((entry) => entry.outcome),
        ["delivered"],
      );
      assert.equal(world.pagerduty.model.openAlerts().length, 1);
    });

    it("fails the invocation when delivery must be retried", async () => {
      world.ssm.failNext("GetParameter", new AwsError("AccessDeniedException", "no"));
      const [event] = eventsOf("jira-cis-1.22-imported-new-event.json");
      await assert.rejects(
        world.handler()(event),
        /event not delivered, retry later: cannot read the PagerDuty routing key/,
      );
    });
  });

  it("paces every container that shares a key through the shared schedule", async () => {
    const events = Array.from({ length: 12 }, (_, index) =>
      importedEvent([electricEyeFinding("s3-encryption-high", `paced-bucket-${index}`, "111122223333")]),
    );
    const settings = { eventsPerMinute: 600 };
    // Both containers' schedules in the one DynamoDB table, each slot it gave seen as the swap that reserved it.
    const table = createDynamoPacingStore(new DynamoDBClient(AWS_CLIENT_CONFIG), STATE_TABLE);
    const slots: number[] = [];
    const pacingStore: PacingStore = {
      async swap(id, expected, next) {
        const result = await table.swap(id, expected, next);
        if (result.ok) slots.push(next.tat - 100);
        return result;
      },
    };
    const first = world.handler({ pacingStore }, settings);
    const second = world.handler({ pacingStore }, settings);
    await Promise.all([
      first(sqsEvent(bodies(...events.slice(0, 6)))),
      second(sqsEvent(bodies(...events.slice(6)))),
    ]);
    assert.ok(world.pagerduty.model.accepted().length >= 12);
    // Two containers on their own schedules would each give a slot at once. On the shared one every slot is at
    // least 100 ms after the one before, whichever container took it (more when a loaded machine asks later).
    const given = [...slots].sort((a, b) => a - b);
    const gaps = given.slice(1).map((slot, index) => slot - (given[index] ?? 0));
    assert.ok(given.length >= 12);
    assert.ok(
      gaps.every((gap) => gap >= 100),
      `gaps ${gaps.join(",")} ms, schedule is 100 ms`,
    );
    assert.ok((await world.dynamodb.item(STATE_TABLE, PARAMETER_NAME)) !== undefined);
  });
});
