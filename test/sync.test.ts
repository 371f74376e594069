import assert from "assert/strict";
import { AwsError } from "../standins/awsJson";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { fetchTransport, type Transport } from "../handler/delivery/pagerduty";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { SSMClient } from "@aws-sdk/client-ssm";
import { createSsmReader } from "../handler/ssm";
import { AWS_CLIENT_CONFIG } from "../handler/awsClients";
import { createDynamoAlertStore, createDynamoWebhookLedger } from "../handler/state/dynamo";
import { createSecurityHubUpdater } from "../handler/sync/securityHub";
import type { Responder } from "../standins/pagerdutyModel";
import { deliverWebhook, webhookPayload, type Agent, type WebhookType } from "../standins/pagerdutyWebhooks";
import { electricEyeFinding, importedEvent, passedReimport } from "../tools/simulation/findings";
import { findingOf, loadFixture, sqsEvent } from "./support/fixtures";
import {
  STATE_TABLE,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET_PARAMETER,
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
  /** An import at an hour of the fixtures' day, or at a moment given as ISO text. */
  const imported = (hour: number | string, changes: Record<string, unknown> = {}) => {
    const [held] = world.securityHub.importFindings([
      {
        ...findingOf("electriceye-s3-public-bucket-policy.json"),
        UpdatedAt: typeof hour === "string" ? hour : T(hour),
      },
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

    describe("a write-back that failed, and a person's note", () => {
      const denied = () =>
        world.securityHub.failNext(
          new AwsError(
            "AccessDeniedException",
            "not authorized to perform securityhub:BatchUpdateFindings",
            403,
          ),
        );
      const note = (finding: Record<string, unknown>) => {
        world.securityHub.batchUpdateFindings({
          FindingIdentifiers: [{ Id: finding.Id, ProductArn: finding.ProductArn }],
          Note: { Text: "Looking into it", UpdatedBy: "ada" },
        });
        world.securityHub.drainEvents();
      };

      it("written after the page: the write-back is left to that person, and the function says so", async () => {
        denied();
        const finding = imported(10);
        await deliver(finding);
        note(finding);
        await deliver(imported(11));
        assert.equal(held(finding).Note?.Text, "Looking into it");
        assert.equal(held(finding).Workflow?.Status, "NEW");
        const left = world.logs.filter((line) => line.message === "page not written back to Security Hub");
        assert.equal(left.length, 1);
        assert.match(String(left[0]?.reason), /a person triaged the finding/);
      });

      it("written before the page (Security Hub keeps a note when a finding fails again): the write-back is tried again", async () => {
        const finding = imported(9);
        note(finding);
        await new Promise((resolve) => setTimeout(resolve, 5));
        denied();
        await deliver(imported(10));
        await deliver(imported(11));
        assert.match(String(held(finding).Note?.Text), /^Paged on-call/);
        assert.equal(held(finding).Workflow?.Status, "NOTIFIED");
        assert.equal(requests(), 1);
      });
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
      // It passes, then fails again (scanned after the resolution): Security Hub sets the workflow back to NEW, and
      // that is a new alert.
      const later = (ms: number) => new Date(Date.now() + ms).toISOString();
      await deliver(passedReimport(imported(later(3600_000))), lane);
      await deliver(imported(later(7200_000), { Workflow: { Status: "NEW" } }), lane);
      assert.equal(world.pagerduty.model.openAlerts().length, 1);
      assert.equal(world.pagerduty.model.openAlerts()[0]?.incident, 2);
    });

    it("a responder's resolution holds even when Security Hub's echo of its RESOLVED lands first and the first attempt fails", async () => {
      const finding = await paged();
      const lane = handler();
      const updater = createSecurityHubUpdater(new SecurityHubClient(AWS_CLIENT_CONFIG));
      let attempts = 0;
      const url = await world.webhookEndpoint({
        // The echo of the write is delivered before the webhook function records anything else; the first
        // attempt's state write then fails.
        findingUpdater: async (update) => {
          const outcome = await updater(update);
          for (const event of world.securityHub.drainEvents()) await lane(sqsEvent([JSON.stringify(event)]));
          return outcome;
        },
        alertStore: {
          get: (dedupKey) => store.get(dedupKey),
          getMany: (dedupKeys) => store.getMany(dedupKeys),
          put: (next, expected, now) => {
            attempts += 1;
            if (attempts === 1)
              return Promise.reject(new AwsError("InternalServerError", "unavailable", 500));
            return store.put(next, expected, now);
          },
        },
      });
      const store = createDynamoAlertStore(
        new DynamoDBClient({ endpoint: world.dynamodb.endpoint }),
        STATE_TABLE,
      );
      world.pagerduty.model.respond(dedupKeyOfAlert(), "resolve", ADA);
      const body = JSON.stringify(
        webhookPayload(
          world.pagerduty.model,
          world.pagerduty.model.alerts()[0] as never,
          "incident.resolved",
          ADA,
        ),
      );
      assert.equal((await deliverWebhook(url, body, WEBHOOK_SECRET)).status, 503);
      const retry = await deliverWebhook(url, body, WEBHOOK_SECRET);
      assert.equal(retry.status, 200, retry.body);
      assert.match(retry.body, /applied/);
      assert.equal(held(finding).Workflow?.Status, "RESOLVED");
      const item = await world.dynamodb.item(STATE_TABLE, `alert#${dedupKeyOfAlert()}`);
      assert.equal(item?.closedBy?.S, "responder");
      for (const event of world.securityHub.drainEvents()) await lane(sqsEvent([JSON.stringify(event)]));
      await deliver(imported(11), lane);
      assert.equal(requests(), 1, "the next scan of the still-failing finding pages nobody");
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

    it("accepts each route's service's webhooks signed with that service's own subscription secret, and no other service's", async () => {
      const finding = await paged();
      const routeSecret = "route-signing-secret-0123456789";
      world.ssm.putParameter("electriceye-pagerduty-payments-webhook-secret", routeSecret);
      const url = await world.webhookEndpoint(
        {},
        {
          routes: [
            { serviceId: "PPAY001", secretParameterName: "electriceye-pagerduty-payments-webhook-secret" },
          ],
        },
      );
      const alert = world.pagerduty.model.alerts()[0];
      assert.ok(alert !== undefined);
      const onService = (serviceId: string, id: string) => {
        const payload = webhookPayload(world.pagerduty.model, alert, "incident.resolved", ADA, { id });
        const event = payload.event as { data: Record<string, unknown> };
        return JSON.stringify({ event: { ...event, data: { ...event.data, service: { id: serviceId } } } });
      };
      assert.equal(
        (await deliverWebhook(url, onService("PPAY001", "signed-by-default"), WEBHOOK_SECRET)).status,
        403,
        "the stack's own subscription does not speak for the route's service",
      );
      assert.equal(
        (
          await deliverWebhook(
            url,
            onService(world.pagerduty.model.serviceId, "signed-by-route"),
            routeSecret,
          )
        ).status,
        403,
        "nor the route's for the stack's",
      );
      assert.equal(held(finding).Workflow?.Status, "NOTIFIED");
      assert.equal((await deliverWebhook(url, onService("PPAY001", "route-event"), routeSecret)).status, 200);
      assert.equal(
        held(finding).Workflow?.Status,
        "RESOLVED",
        "the route's responder's resolution is written back",
      );
    });

    it("accepts a route's signed webhook while another route's secret cannot be read", async () => {
      await paged();
      const routeSecret = "route-signing-secret-0123456789";
      world.ssm.putParameter("electriceye-pagerduty-payments-webhook-secret", routeSecret);
      const reader = createSsmReader(new SSMClient(AWS_CLIENT_CONFIG));
      const readParameter = (name: string) =>
        name === "electriceye-pagerduty-broken-webhook-secret"
          ? Promise.reject(new AwsError("ParameterNotFound", "missing", 400))
          : reader(name);
      const url = await world.webhookEndpoint(
        { readParameter },
        {
          routes: [
            { serviceId: "PBRK001", secretParameterName: "electriceye-pagerduty-broken-webhook-secret" },
            { serviceId: "PPAY001", secretParameterName: "electriceye-pagerduty-payments-webhook-secret" },
          ],
        },
      );
      const alert = world.pagerduty.model.alerts()[0];
      assert.ok(alert !== undefined);
      const payload = webhookPayload(world.pagerduty.model, alert, "incident.resolved", ADA, {
        id: "route-event",
      });
      const event = payload.event as { data: Record<string, unknown> };
      const body = JSON.stringify({
        event: { ...event, data: { ...event.data, service: { id: "PPAY001" } } },
      });
      const answers = [];
      for (let i = 0; i < 3; i += 1) answers.push((await deliverWebhook(url, body, routeSecret)).status);
      assert.deepEqual(answers, [200, 200, 200]);
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
    it("with alertPer: control, writes back every member, tells each of the group's incident, and a responder's resolution holds them until one regresses", async () => {
      const grouped = () =>
        world.handler(
          {},
          { securityHubSync: true, grouping: { per: "control", fields: ["account"], criticalAlone: true } },
        );
      const lane = grouped();
      const buckets = (hour: number, changes: Record<string, unknown> = {}) =>
        world.securityHub.importFindings(
          ["billing-archive", "billing-logs", "billing-replica"].map((name) => ({
            ...electricEyeFinding("s3-encryption-high", name, "111122223333"),
            UpdatedAt: T(hour),
            ...changes,
          })),
        ) as Record<string, unknown>[];
      const members = buckets(10);
      await lane(sqsEvent([JSON.stringify(importedEvent(members))]));
      world.securityHub.drainEvents();
      assert.equal(requests(), 1);
      for (const member of members) {
        assert.equal(held(member).Workflow?.Status, "NOTIFIED");
        assert.match(String(held(member).Note?.Text), /^Paged on-call through PagerDuty service/);
      }
      const url = await world.webhookEndpoint();
      assert.equal((await send(url, "incident.triggered", "events-api")).status, 200);
      for (const member of members)
        assert.equal(
          held(member).Note?.Text,
          "PagerDuty incident #1: https://acme.pagerduty.com/incidents/Q000001 opened (one incident for control s3-bucket-encryption-check in this account, 3 failing now).",
        );
      // A bucket that fails after the incident was named joins without a request, and is told of that incident.
      const [joined] = world.securityHub.importFindings([
        { ...electricEyeFinding("s3-encryption-high", "billing-backup", "111122223333"), UpdatedAt: T(10) },
      ]) as Record<string, unknown>[];
      await lane(sqsEvent([JSON.stringify(importedEvent([joined as Record<string, unknown>]))]));
      assert.equal(requests(), 1);
      assert.equal(held(joined as Record<string, unknown>).Workflow?.Status, "NOTIFIED");
      assert.equal(
        held(joined as Record<string, unknown>).Note?.Text,
        "PagerDuty incident #1: https://acme.pagerduty.com/incidents/Q000001 opened (one incident for control s3-bucket-encryption-check in this account, 4 failing now).",
      );
      world.pagerduty.model.respond(dedupKeyOfAlert(), "resolve", ADA);
      assert.equal((await send(url, "incident.resolved", ADA)).status, 200);
      for (const member of members) {
        assert.equal(held(member).Workflow?.Status, "RESOLVED");
        assert.match(
          String(held(member).Note?.Text),
          /^Resolved in PagerDuty by Ada Lovelace, PagerDuty incident #1/,
        );
      }
      // Security Hub's follow-ups, then the scanner's re-import of the still-failing buckets: nothing pages.
      for (const event of world.securityHub.drainEvents()) await lane(sqsEvent([JSON.stringify(event)]));
      await lane(sqsEvent([JSON.stringify(importedEvent(buckets(11)))]));
      assert.equal(requests(), 1, "held while they keep failing");
      // One passes and fails again (Workflow NEW): the group opens again, a new incident.
      const [first] = buckets(12);
      await lane(
        sqsEvent([JSON.stringify(importedEvent([passedReimport(first as Record<string, unknown>)]))]),
      );
      const [again] = world.securityHub.importFindings([
        { ...electricEyeFinding("s3-encryption-high", "billing-archive", "111122223333"), UpdatedAt: T(13) },
      ]) as Record<string, unknown>[];
      await lane(sqsEvent([JSON.stringify(importedEvent([{ ...again, Workflow: { Status: "NEW" } }]))]));
      assert.deepEqual(
        world.pagerduty.model.openAlerts().map((alert) => alert.incident),
        [2],
      );
    });

    describe("no genuine delivery is lost or dropped", () => {
      /** The endpoint's clock, `offsetMs` ahead of this machine's. */
      const ahead = (offsetMs: () => number) => ({
        now: () => Date.now() + offsetMs(),
        sleep: (ms: number) => new Promise<void>((done) => setTimeout(done, ms)),
      });
      const acknowledgement = (options: { id?: string; occurredAt?: Date } = {}) => {
        const alert = world.pagerduty.model.alerts()[0];
        assert.ok(alert !== undefined);
        return JSON.stringify(
          webhookPayload(world.pagerduty.model, alert, "incident.acknowledged", ADA, options),
        );
      };

      it("answers a retry that arrives while the first attempt is still being applied with 503, not 200, and applies it once the attempt has ended unsettled", async () => {
        const finding = await paged();
        const ledger = createDynamoWebhookLedger(
          new DynamoDBClient({ endpoint: world.dynamodb.endpoint }),
          STATE_TABLE,
        );
        // The first attempt took the event, then its invocation was stopped before it applied it.
        assert.equal(await ledger.claim("first-attempt-killed", Date.now()), "claimed");
        const body = acknowledgement({ id: "first-attempt-killed" });
        const retry = await deliverWebhook(await world.webhookEndpoint(), body, WEBHOOK_SECRET);
        assert.equal(retry.status, 503, retry.body);
        const again = await deliverWebhook(
          await world.webhookEndpoint({ clock: ahead(() => 15_000) }),
          body,
          WEBHOOK_SECRET,
        );
        assert.equal(again.status, 200, again.body);
        assert.match(String(held(finding).Note?.Text), /^Acknowledged in PagerDuty by Ada Lovelace/);
      });

      it("after a secret rotation, accepts deliveries signed with the new secret at once, and with the old one for a grace period", async () => {
        await paged();
        let offset = 0;
        const url = await world.webhookEndpoint({ clock: ahead(() => offset) });
        assert.equal(
          (await deliverWebhook(url, acknowledgement({ id: "before" }), WEBHOOK_SECRET)).status,
          200,
        );
        const rotated = "whsec-rotated-0123456789abcdef0123456789";
        world.ssm.putParameter(WEBHOOK_SECRET_PARAMETER, rotated);
        // The secret was read moments ago, before the rotation: PagerDuty is asked to deliver again, not to drop it.
        assert.equal((await deliverWebhook(url, acknowledgement({ id: "after" }), rotated)).status, 503);
        offset = 2_000;
        const fresh = await deliverWebhook(url, acknowledgement({ id: "after" }), rotated);
        assert.equal(fresh.status, 200, fresh.body);
        assert.equal(
          (await deliverWebhook(url, acknowledgement({ id: "late" }), WEBHOOK_SECRET)).status,
          200,
        );
        // Within a second of its last read the secret is not read again: a rotation since is not seen yet, and
        // PagerDuty is asked to deliver again (503); after that second a signature no secret makes is refused.
        assert.equal(
          (await deliverWebhook(url, acknowledgement({ id: "forged" }), "not-the-secret-at-all")).status,
          503,
        );
        offset = 4_000;
        assert.equal(
          (await deliverWebhook(url, acknowledgement({ id: "forged" }), "not-the-secret-at-all")).status,
          401,
        );
        offset = 2 * 3600_000;
        assert.equal(
          (await deliverWebhook(url, acknowledgement({ id: "much-later" }), WEBHOOK_SECRET)).status,
          401,
          "the grace period is over",
        );
      });

      it("a container that only ever read the new secret accepts a delivery signed with the old one, within the grace period after the rotation, reading the old version once", async () => {
        await paged();
        let offset = 0;
        let reads = 0;
        const reader = createSsmReader(new SSMClient(AWS_CLIENT_CONFIG));
        const readParameter = (name: string) => {
          reads += 1;
          return reader(name);
        };
        world.ssm.putParameter(WEBHOOK_SECRET_PARAMETER, "whsec-rotated-0123456789abcdef0123456789");
        const url = await world.webhookEndpoint({ clock: ahead(() => offset), readParameter });
        for (const id of ["in-flight", "retried"]) {
          const answer = await deliverWebhook(url, acknowledgement({ id }), WEBHOOK_SECRET);
          assert.equal(answer.status, 200, answer.body);
        }
        assert.equal(reads, 2, "the current version, then the previous one, once");
        offset = 2 * 3600_000;
        assert.equal(
          (await deliverWebhook(url, acknowledgement({ id: "much-later" }), WEBHOOK_SECRET)).status,
          401,
          "the grace period is over",
        );
      });

      it("applies a signed event delivered two days late, and acknowledges one too old to apply with 200 instead of a 4xx PagerDuty would drop", async () => {
        const finding = await paged();
        const twoDays = await deliverWebhook(
          await world.webhookEndpoint({ clock: ahead(() => 48 * 3600_000) }),
          acknowledgement({ id: "two-days" }),
          WEBHOOK_SECRET,
        );
        assert.equal(twoDays.status, 200, twoDays.body);
        assert.match(twoDays.body, /applied/);
        assert.match(String(held(finding).Note?.Text), /^Acknowledged in PagerDuty by Ada Lovelace/);
        const writes = world.securityHub.updates.length;
        const fourDays = await deliverWebhook(
          await world.webhookEndpoint({ clock: ahead(() => 96 * 3600_000) }),
          acknowledgement({ id: "four-days" }),
          WEBHOOK_SECRET,
        );
        assert.equal(fourDays.status, 200);
        assert.match(fourDays.body, /too old/);
        assert.equal(world.securityHub.updates.length, writes, "nothing applied");
      });

      it("an older incident's resolution, delivered late, does not resolve the finding's current alert", async () => {
        const finding = await paged();
        const url = await world.webhookEndpoint();
        const lane = handler();
        const [first] = world.pagerduty.model.alerts();
        assert.ok(first !== undefined);
        // A responder resolved incident #1, but its webhook could not be delivered for a while; meanwhile the
        // finding passed and failed again: incident #2.
        world.pagerduty.model.respond(first.dedupKey, "resolve", ADA);
        const resolvedAt = Date.now();
        const late = JSON.stringify(
          webhookPayload(world.pagerduty.model, first, "incident.resolved", ADA, {
            occurredAt: new Date(resolvedAt),
          }),
        );
        const after = (ms: number) => new Date(resolvedAt + ms).toISOString();
        await deliver(passedReimport(imported(after(1_000))), lane);
        await deliver(imported(after(2_000), { Workflow: { Status: "NEW" } }), lane);
        assert.equal(world.pagerduty.model.openAlerts().length, 1);
        const answer = await deliverWebhook(url, late, WEBHOOK_SECRET);
        assert.equal(answer.status, 200);
        // Applied and found to change nothing (not refused as too old to apply).
        assert.deepEqual(JSON.parse(answer.body), { status: "ignored" });
        const item = await world.dynamodb.item(STATE_TABLE, `alert#${first.dedupKey}`);
        assert.equal(item?.status?.S, "open");
        assert.equal(item?.closedBy, undefined);
        assert.notEqual(held(finding).Workflow?.Status, "RESOLVED");
      });

      it("an incident.triggered webhook that lands before the page is confirmed leaves the page confirmed: the next import sends and writes nothing", async () => {
        const url = await world.webhookEndpoint();
        // PagerDuty accepts the trigger, opens the incident and delivers its webhook before the 202 reaches the function.
        const transport: Transport = async (request) => {
          const answer = await fetchTransport(request);
          const alert = world.pagerduty.model.alerts()[0];
          if (alert !== undefined && world.pagerduty.model.counts().requests === 1) {
            const body = JSON.stringify(
              webhookPayload(world.pagerduty.model, alert, "incident.triggered", "events-api"),
            );
            assert.equal((await deliverWebhook(url, body, WEBHOOK_SECRET)).status, 200);
          }
          return answer;
        };
        const lane = world.handler({ transport }, { securityHubSync: true });
        await deliver(imported(10), lane);
        const writes = world.securityHub.updates.length;
        world.securityHub.drainEvents();
        await deliver(imported(11), lane);
        assert.equal(requests(), 1, "not sent again");
        assert.equal(world.securityHub.updates.length, writes, "the page note is not written again");
        const item = await world.dynamodb.item(STATE_TABLE, `alert#${dedupKeyOfAlert()}`);
        assert.ok(item?.sentAt?.N !== undefined && item.incidentId?.S !== undefined);
      });

      it("backs off reading a secret SSM keeps refusing: requests to the public URL do not each call SSM", async () => {
        let reads = 0;
        const readParameter = () => {
          reads += 1;
          return Promise.reject(new AwsError("ThrottlingException", "Rate exceeded", 400));
        };
        const url = await world.webhookEndpoint({ readParameter });
        for (let request = 0; request < 5; request += 1)
          assert.equal((await deliverWebhook(url, "{}", "forged-secret-of-sixteen+")).status, 503);
        assert.ok(reads <= 4, `${reads} reads of SSM for 5 requests`);
        const before = reads;
        for (let request = 0; request < 5; request += 1)
          await deliverWebhook(url, "{}", "forged-secret-of-sixteen+");
        assert.equal(reads, before, "no read while backing off");
      });
    });
  });
});
