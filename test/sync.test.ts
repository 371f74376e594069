import assert from "assert/strict";
import { AwsError } from "../standins/awsJson";
import type { Responder } from "../standins/pagerdutyModel";
import { deliverWebhook, webhookPayload, type Agent, type WebhookType } from "../standins/pagerdutyWebhooks";
import { importedEvent, passedReimport } from "../tools/simulation/findings";
import { findingOf, loadFixture, sqsEvent } from "./support/fixtures";
import {
  STATE_TABLE,
  WEBHOOK_SECRET,
  failures,
  replayFollowUps,
  startWorld,
  type World,
} from "./support/world";

const ADA: Responder = { id: "PADA001", name: "Ada Lovelace" };
const T = (hour: number) => `2026-03-02T${String(hour).padStart(2, "0")}:00:00.000Z`;

describe("Security Hub and PagerDuty in both directions, over real HTTP", () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(() => world.close());

  /** The finding as its product imports it at `hour`, as Security Hub then holds it; `changes` by a person. */
  const imported = (hour: number, changes: Record<string, unknown> = {}) => {
    const [held] = world.securityHub.importFindings([
      { ...findingOf("electriceye-s3-public-bucket-policy.json"), UpdatedAt: T(hour) },
    ]);
    return { ...held, ...changes } as Record<string, unknown>;
  };
  const handler = () => world.handler({}, { securityHubSync: true });
  const deliver = (finding: unknown, lane = handler()) =>
    lane(sqsEvent([JSON.stringify(importedEvent([finding]))]));
  const held = (finding: Record<string, unknown>) =>
    world.securityHub.finding(String(finding.Id), String(finding.ProductArn)) as Record<
      string,
      { Status?: string; Text?: string; UpdatedBy?: string }
    >;
  const requests = () => world.pagerduty.model.counts().requests;

  describe("a page is written back to the finding", () => {
    it("sets Workflow NOTIFIED and a note after a page, and writes nothing after an unchanged re-import", async () => {
      const finding = imported(10);
      assert.deepEqual(failures(await deliver(finding)), []);
      const after = held(finding);
      assert.equal(after.Workflow?.Status, "NOTIFIED");
      assert.match(
        String(after.Note?.Text),
        /^Paged on-call through PagerDuty service "Security Hub findings \(test\)" at \d{4}-/,
      );
      assert.equal(after.Note?.UpdatedBy, "electriceye-pagerduty");
      assert.equal(world.securityHub.updates.length, 1);
      world.securityHub.drainEvents();
      await deliver(imported(11));
      assert.equal(requests(), 1);
      assert.equal(world.securityHub.updates.length, 1, "no second write-back");
    });

    it("leaves a workflow a person set alone and only adds the note", async () => {
      const finding = imported(10, { Workflow: { Status: "NOTIFIED" } });
      await deliver(finding);
      assert.deepEqual(world.securityHub.updates[0]?.Workflow, undefined);
      assert.ok(world.securityHub.updates[0]?.Note !== undefined);
    });

    it("the write-back's own Imported event neither pages nor loops", async () => {
      const lane = handler();
      await deliver(imported(10), lane);
      assert.equal(await replayFollowUps(world, lane), 1, "one follow-up event, which changes nothing");
      assert.equal(requests(), 1, "paged once");
      assert.equal(world.securityHub.updates.length, 1, "written once");
      assert.equal(world.pagerduty.model.openAlerts()[0]?.updates, 0);
    });

    it("retries Security Hub's throttling without repeating the page", async () => {
      world.securityHub.failNext(new AwsError("TooManyRequestsException", "Rate exceeded", 429), 4);
      const finding = imported(10);
      assert.deepEqual(failures(await deliver(finding)), []);
      assert.equal(requests(), 1);
      assert.equal(held(finding).Workflow?.Status, "NOTIFIED");
    });

    it("a write-back that fails is tried again at the finding's next import, still without paging again", async () => {
      world.securityHub.failNext(
        new AwsError(
          "AccessDeniedException",
          "not authorized to perform securityhub:BatchUpdateFindings",
          403,
        ),
      );
      const finding = imported(10);
      assert.deepEqual(
        failures(await deliver(finding)),
        [],
        "the page's record is done whatever Security Hub said",
      );
      assert.equal(held(finding).Workflow?.Status, "NEW");
      assert.match(
        String(world.logs.find((line) => line.message === "Security Hub not updated")?.reason),
        /AccessDeniedException/,
      );
      await deliver(imported(11));
      assert.equal(requests(), 1);
      assert.equal(held(finding).Workflow?.Status, "NOTIFIED");
    });
  });

  describe("page on demand: the Security Hub custom action", () => {
    /** A real custom action event (two findings selected), as if the person chose this stack's "Page on-call". */
    const customAction = () => {
      const event = structuredClone(loadFixture("asr-cis-1.6-custom-action-multi-findings.json")) as Record<
        string,
        unknown
      >;
      event.resources = ["arn:aws:securityhub:us-east-1:111111111111:action/custom/PageOnCall"];
      event.detail = { ...(event.detail as object), actionName: "Page on-call" };
      world.securityHub.importFindings((event.detail as { findings: Record<string, unknown>[] }).findings);
      return event;
    };

    it("pages each selected finding once, whatever its severity, with high urgency, noted as paged by hand", async () => {
      const prodLike = world.handler(
        {},
        {
          securityHubSync: true,
          filter: {
            severityLabels: ["HIGH", "CRITICAL"],
            products: ["ElectricEye"],
            workflowStatuses: ["NEW", "NOTIFIED"],
            activeOnly: true,
          },
        },
      );
      const event = customAction();
      assert.deepEqual(failures(await prodLike(sqsEvent([JSON.stringify(event)]))), []);
      const alerts = world.pagerduty.model.openAlerts();
      assert.equal(alerts.length, 2);
      const medium = alerts.find((alert) => /MEDIUM/.test(alert.summary));
      assert.equal(medium?.severity, "error", "a person asked: high urgency");
      assert.match(medium?.summary ?? "", /^\[paged by hand\] MEDIUM: /);
      const details = (medium?.event.payload as { custom_details: Record<string, unknown> }).custom_details;
      assert.equal(details.paged_by, 'a person, through the Security Hub custom action "Page on-call"');
      assert.equal(details.severity, "MEDIUM");
      await prodLike(sqsEvent([JSON.stringify(customAction())]));
      assert.equal(
        requests(),
        4,
        "choosing the action again sends again: PagerDuty may hold the alert resolved",
      );
      assert.deepEqual(
        world.pagerduty.model.openAlerts().map((alert) => alert.updates),
        [1, 1],
        "the two open alerts are updated: nobody is paged again",
      );
      assert.match(
        String(
          world.securityHub.updates[0]?.Note && (world.securityHub.updates[0].Note as { Text: string }).Text,
        ),
        /^Paged on-call by hand/,
      );
    });
  });

  describe("PagerDuty back to Security Hub: the webhook endpoint", () => {
    async function paged(): Promise<Record<string, unknown>> {
      const finding = imported(10);
      await deliver(finding);
      world.securityHub.drainEvents();
      return finding;
    }
    const dedupKeyOfAlert = () => world.pagerduty.model.alerts()[0]?.dedupKey ?? "";
    const send = async (
      url: string,
      type: WebhookType,
      agent: Agent,
      options: { content?: string; id?: string } = {},
    ) => {
      const alert = world.pagerduty.model.alerts()[world.pagerduty.model.alerts().length - 1];
      assert.ok(alert !== undefined);
      const body = JSON.stringify(webhookPayload(world.pagerduty.model, alert, type, agent, options));
      return deliverWebhook(url, body, WEBHOOK_SECRET);
    };

    it("an acknowledgement becomes a note naming the responder and linking the incident", async () => {
      const finding = await paged();
      const url = await world.webhookEndpoint();
      world.pagerduty.model.respond(dedupKeyOfAlert(), "acknowledge", ADA);
      const answer = await send(url, "incident.acknowledged", ADA);
      assert.equal(answer.status, 200, answer.body);
      assert.equal(
        held(finding).Note?.Text,
        "Acknowledged in PagerDuty by Ada Lovelace, PagerDuty incident #1: https://acme.pagerduty.com/incidents/Q000001.",
      );
      assert.equal(held(finding).Workflow?.Status, "NOTIFIED");
    });

    it("a triggered incident adds its link, and a note written in PagerDuty comes back as a note", async () => {
      const finding = await paged();
      const url = await world.webhookEndpoint();
      assert.equal((await send(url, "incident.triggered", "events-api")).status, 200);
      assert.match(
        String(held(finding).Note?.Text),
        /^PagerDuty incident #1: https:\/\/acme\.pagerduty\.com\/incidents\/Q000001 opened/,
      );
      assert.equal(
        (await send(url, "incident.annotated", ADA, { content: "Bucket owner contacted; fix due today." }))
          .status,
        200,
      );
      assert.equal(
        held(finding).Note?.Text,
        "PagerDuty note by Ada Lovelace: Bucket owner contacted; fix due today. (PagerDuty incident #1: https://acme.pagerduty.com/incidents/Q000001)",
      );
    });

    it("a responder's resolution sets RESOLVED, and the still-failing finding does not page again until it regresses", async () => {
      const finding = await paged();
      const url = await world.webhookEndpoint();
      const lane = handler();
      world.pagerduty.model.respond(dedupKeyOfAlert(), "resolve", ADA);
      assert.equal((await send(url, "incident.resolved", ADA)).status, 200);
      assert.equal(held(finding).Workflow?.Status, "RESOLVED");
      assert.match(
        String(held(finding).Note?.Text),
        /^Resolved in PagerDuty by Ada Lovelace, PagerDuty incident #1/,
      );
      const item = await world.dynamodb.item(STATE_TABLE, `alert#${dedupKeyOfAlert()}`);
      assert.equal(item?.closedBy?.S, "responder");
      // Security Hub's own follow-up, then the scanner's next re-imports: still failing, nothing pages.
      for (const event of world.securityHub.drainEvents()) await lane(sqsEvent([JSON.stringify(event)]));
      await deliver(imported(11), lane);
      await deliver(imported(12, { Workflow: { Status: "NOTIFIED" } }), lane);
      assert.equal(requests(), 1, "held while it keeps failing");
      // It passes, then fails again: Security Hub sets the workflow back to NEW, and that is a new alert.
      await deliver(passedReimport(imported(13)), lane);
      await deliver(imported(14, { Workflow: { Status: "NEW" } }), lane);
      assert.equal(world.pagerduty.model.openAlerts().length, 1);
      assert.equal(world.pagerduty.model.openAlerts()[0]?.incident, 2);
    });

    it("a resolution by the finding's own resolve changes nothing", async () => {
      const finding = await paged();
      const url = await world.webhookEndpoint();
      await deliver(passedReimport(imported(11)));
      world.securityHub.drainEvents();
      const writes = world.securityHub.updates.length;
      const answer = await send(url, "incident.resolved", "events-api");
      assert.equal(answer.status, 200);
      assert.match(answer.body, /ignored/);
      assert.equal(world.securityHub.updates.length, writes);
      assert.notEqual(held(finding).Workflow?.Status, "RESOLVED");
    });

    it("accepts a delivery signed during a secret rotation (two signatures)", async () => {
      await paged();
      const url = await world.webhookEndpoint();
      const alert = world.pagerduty.model.alerts()[0];
      assert.ok(alert !== undefined);
      const body = JSON.stringify(webhookPayload(world.pagerduty.model, alert, "incident.acknowledged", ADA));
      assert.equal((await deliverWebhook(url, body, WEBHOOK_SECRET, "rotating")).status, 200);
    });

    it("ignores a replay of an event already applied", async () => {
      await paged();
      const url = await world.webhookEndpoint();
      const alert = world.pagerduty.model.alerts()[0];
      assert.ok(alert !== undefined);
      const body = JSON.stringify(webhookPayload(world.pagerduty.model, alert, "incident.acknowledged", ADA));
      assert.equal((await deliverWebhook(url, body, WEBHOOK_SECRET)).status, 200);
      const writes = world.securityHub.updates.length;
      const replay = await deliverWebhook(url, body, WEBHOOK_SECRET);
      assert.equal(replay.status, 200);
      assert.match(replay.body, /duplicate/);
      assert.equal(world.securityHub.updates.length, writes, "nothing applied twice");
    });

    it("refuses, with nothing changed, an unsigned or mis-signed request, a body over the limit, malformed JSON and another service's event", async () => {
      const finding = await paged();
      const url = await world.webhookEndpoint();
      const alert = world.pagerduty.model.alerts()[0];
      assert.ok(alert !== undefined);
      const payload = webhookPayload(world.pagerduty.model, alert, "incident.resolved", ADA, {
        id: "replayed-event",
      });
      const body = JSON.stringify(payload);
      const otherService = JSON.stringify({
        event: {
          ...(payload.event as object),
          data: { ...(payload.event as { data: object }).data, service: { id: "POTHER1" } },
        },
      });
      const stateBefore = await world.dynamodb.item(STATE_TABLE, `alert#${alert.dedupKey}`);
      const cases: [string, Promise<{ status: number; body: string }>, number][] = [
        ["unsigned", deliverWebhook(url, body, WEBHOOK_SECRET, "none"), 401],
        ["mis-signed", deliverWebhook(url, body, WEBHOOK_SECRET, "wrong"), 401],
        [
          "over the limit",
          deliverWebhook(url, JSON.stringify({ event: { padding: "x".repeat(70_000) } }), WEBHOOK_SECRET),
          413,
        ],
        ["malformed JSON", deliverWebhook(url, `${body.slice(0, 40)}`, WEBHOOK_SECRET), 400],
        ["another service's event", deliverWebhook(url, otherService, WEBHOOK_SECRET), 403],
      ];
      for (const [what, answer, status] of cases) assert.equal((await answer).status, status, what);
      assert.equal(world.securityHub.updates.length, 1, "only the page's own write-back");
      assert.equal(held(finding).Workflow?.Status, "NOTIFIED");
      assert.deepEqual(await world.dynamodb.item(STATE_TABLE, `alert#${alert.dedupKey}`), stateBefore);
      assert.equal(
        await world.dynamodb.item(STATE_TABLE, "webhook#replayed-event"),
        undefined,
        "nothing remembered",
      );
      // The same event, properly signed, still applies: the refusals changed nothing.
      assert.equal((await deliverWebhook(url, body, WEBHOOK_SECRET)).status, 200);
      assert.equal(held(finding).Workflow?.Status, "RESOLVED");
    });

    it("answers 503 when Security Hub stays throttled, so that PagerDuty delivers it again, and applies it then", async () => {
      const finding = await paged();
      const url = await world.webhookEndpoint();
      const alert = world.pagerduty.model.alerts()[0];
      assert.ok(alert !== undefined);
      const body = JSON.stringify(webhookPayload(world.pagerduty.model, alert, "incident.acknowledged", ADA));
      world.securityHub.failNext(new AwsError("TooManyRequestsException", "Rate exceeded", 429), 50);
      const first = await deliverWebhook(url, body, WEBHOOK_SECRET);
      assert.equal(first.status, 503);
      world.securityHub.clearFailures();
      assert.equal((await deliverWebhook(url, body, WEBHOOK_SECRET)).status, 200);
      assert.match(String(held(finding).Note?.Text), /^Acknowledged in PagerDuty by Ada Lovelace/);
    });
  });
});
