import assert from "assert/strict";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { createPagerDutyModel, validate } from "../standins/pagerdutyModel";
import { startPagerDutyStandIn } from "../standins/pagerdutyServer";
import { startSsmStandIn } from "../standins/ssm";

const KEY = "e93facc04764012d7bfb002500d5d1a6";
const trigger = (overrides: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) => ({
  routing_key: KEY,
  event_action: "trigger",
  dedup_key: "finding-1",
  payload: { summary: "s", source: "arn:aws:s3:::bucket", severity: "critical", ...payload },
  ...overrides,
});
const credentials = { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" };

describe("the PagerDuty stand-in", () => {
  it("rejects each documented violation with PagerDuty's 400 body", () => {
    const cases: [unknown, RegExp][] = [
      [trigger({}, { summary: "x".repeat(1025) }), /'payload.summary' must be at most 1024 characters/],
      [trigger({}, { source: undefined }), /'payload.source' is missing or blank/],
      [trigger({}, { severity: "high" }), /'payload.severity' must be one of/],
      [
        trigger({}, { timestamp: "1977-06-02T122:29:47Z" }),
        /'payload.timestamp' must be an ISO 8601 timestamp/,
      ],
      [trigger({ images: [{ src: "http://example.com/a.png" }] }), /'images\[0\].src' must be an https URL/],
      [trigger({ links: [{ text: "no href" }] }), /'links\[0\].href' is required/],
      [trigger({ dedup_key: "k".repeat(256) }), /'dedup_key' must be at most 255 characters/],
      [{ routing_key: KEY, event_action: "resolve" }, /'dedup_key' is required for resolve events/],
      [trigger({ event_action: "page" }), /'event_action' must be one of trigger, acknowledge, resolve/],
      [trigger({ routing_key: "short" }), /Length of 'routing_key' is incorrect \(should be 32 characters\)/],
      [
        trigger({ routing_key: "e93facc04764012d7bfb002500d5d1a-" }),
        /'routing_key' cannot contain non-alphanumeric characters/,
      ],
      [trigger({ dedupe_key: "typo" }), /'dedupe_key' is not a field of an Events API v2 event/],
      [trigger({}, { custom_details: "text" }), /'payload.custom_details' must be an object/],
    ];
    const model = createPagerDutyModel();
    for (const [event, error] of cases) {
      const answer = model.receive(JSON.stringify(event));
      assert.equal(answer.status, 400, String(error));
      const body = JSON.parse(answer.body) as { status: string; message: string; errors: string[] };
      assert.equal(body.status, "invalid event");
      assert.equal(body.message, "Event object is invalid");
      assert.ok(
        body.errors.some((message) => error.test(message)),
        `${String(error)} in ${body.errors.join("; ")}`,
      );
    }
    assert.deepEqual(validate(trigger()), []);
  });

  it("rejects an event over 512 KB and an unknown routing key", () => {
    const model = createPagerDutyModel({ routingKeys: ["00000000000000000000000000000000"] });
    const big = model.receive(
      JSON.stringify(trigger({}, { custom_details: { blob: "x".repeat(512 * 1024) } })),
    );
    assert.equal(big.status, 400);
    const unknown = model.receive(JSON.stringify(trigger()));
    assert.deepEqual(JSON.parse(unknown.body).errors, ["Invalid routing key"]);
  });

  it("allows 120 events per routing key in any rolling 60 seconds and answers 429 beyond", () => {
    let now = 0;
    const model = createPagerDutyModel({ now: () => now });
    for (let index = 0; index < 120; index += 1) {
      now = index * 100;
      assert.equal(model.receive(JSON.stringify(trigger({ dedup_key: `k${index}` }))).status, 202);
    }
    now = 59_999;
    assert.equal(model.receive(JSON.stringify(trigger({ dedup_key: "late" }))).status, 429);
    const other = "f00facc04764012d7bfb002500d5d1a7";
    assert.equal(
      model.receive(JSON.stringify(trigger({ routing_key: other }))).status,
      202,
      "limits are per key",
    );
    now = 60_001;
    assert.equal(
      model.receive(JSON.stringify(trigger({ dedup_key: "later" }))).status,
      202,
      "the first event left the window",
    );
    assert.equal(model.counts().rateLimited, 1);
    assert.equal(model.accepted().length, 122, "a 429 is not ingested");
  });

  it("keeps alert state per (routing key, dedup key)", () => {
    const model = createPagerDutyModel();
    const send = (event: unknown) =>
      JSON.parse(model.receive(JSON.stringify(event)).body) as { dedup_key: string };
    send(trigger());
    send(trigger());
    assert.equal(model.openAlerts().length, 1);
    assert.equal(model.openAlerts()[0]?.updates, 1, "a repeated trigger updates the open alert");
    send({ routing_key: KEY, event_action: "resolve", dedup_key: "finding-1" });
    assert.equal(model.openAlerts().length, 0);
    send({ routing_key: KEY, event_action: "resolve", dedup_key: "never-opened" });
    send(trigger());
    assert.deepEqual(
      model.alerts().map((alert) => [alert.incident, alert.status]),
      [
        [1, "resolved"],
        [2, "triggered"],
      ],
    );
    const generated = send({ ...trigger(), dedup_key: undefined });
    assert.match(generated.dedup_key, /^[0-9a-f]{32}$/);
  });

  it("serves the Events API over HTTP with injectable faults", async () => {
    const standIn = await startPagerDutyStandIn();
    try {
      const post = (body: string, url = standIn.url, type = "application/json") =>
        fetch(url, { method: "POST", headers: { "content-type": type }, body });
      assert.equal((await post(JSON.stringify(trigger()))).status, 202);
      assert.equal(
        (await post(JSON.stringify(trigger()), standIn.url.replace("enqueue", "nope"))).status,
        404,
      );
      assert.equal((await post(JSON.stringify(trigger()), standIn.url, "text/plain")).status, 400);
      standIn.injectFault({ kind: "status", status: 502 });
      assert.equal((await post(JSON.stringify(trigger()))).status, 502);
      standIn.injectFault({ kind: "drop" });
      await assert.rejects(post(JSON.stringify(trigger())), /fetch failed/);
      standIn.injectFault({ kind: "delay", ms: 300 });
      const started = Date.now();
      assert.equal((await post(JSON.stringify(trigger()))).status, 202);
      assert.ok(Date.now() - started >= 290);
    } finally {
      await standIn.close();
    }
  });
});

describe("the AWS stand-ins", () => {
  it("SSM answers GetParameter, encrypted without WithDecryption, and refuses unsigned requests", async () => {
    const ssm = await startSsmStandIn();
    try {
      ssm.putParameter("electriceye-pagerduty", KEY);
      const client = new SSMClient({ endpoint: ssm.endpoint, region: "us-east-1", credentials });
      const decrypted = await client.send(
        new GetParameterCommand({ Name: "electriceye-pagerduty", WithDecryption: true }),
      );
      assert.equal(decrypted.Parameter?.Value, KEY);
      const encrypted = await client.send(new GetParameterCommand({ Name: "electriceye-pagerduty" }));
      assert.notEqual(encrypted.Parameter?.Value, KEY);
      await assert.rejects(client.send(new GetParameterCommand({ Name: "other" })), {
        name: "ParameterNotFound",
      });
      const unsigned = await fetch(ssm.endpoint, {
        method: "POST",
        headers: { "x-amz-target": "AmazonSSM.GetParameter", "content-type": "application/x-amz-json-1.1" },
        body: JSON.stringify({ Name: "electriceye-pagerduty", WithDecryption: true }),
      });
      assert.equal(unsigned.status, 403);
    } finally {
      await ssm.close();
    }
  });
});
