import assert from "assert/strict";
import { execFile, spawnSync } from "child_process";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { promisify } from "util";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, readStackConfig } from "../config";
import { BASE_DIMENSIONS, COUNTS, IMPORT_TO_PAGE, PAGE_DIMENSIONS } from "../handler/telemetry/metrics";
import type { PolicyDocument } from "../infra/iamPolicies";
import { settingsFromEnvironment } from "../handler/settings";
import {
  MOCK_DEPLOYED_AT,
  isSecretValue,
  mockIntegrationKey,
  mockWebhookSecret,
  physicalName,
  type ProgramRun,
  type RecordedResource,
} from "../tools/mockEngine";
import { archiveEntries, planSettings, writeFunctionArchive } from "../tools/plan";
import { loadStackSettings, mapConfigSource } from "../tools/stackConfig";
import { passedReimport, importedEvent } from "../tools/simulation/findings";
import { findingOf, sqsEvent } from "./support/fixtures";
import {
  DEAD_LETTER_QUEUE,
  STATE_TABLE,
  ROUTING_KEY,
  WEBHOOK_SECRET,
  awsEnvironmentFor,
} from "./support/world";
import { startSecurityHubStandIn } from "../standins/securityHub";
import { sign, webhookPayload } from "../standins/pagerdutyWebhooks";
import { startPagerDutyStandIn } from "../standins/pagerdutyServer";
import { startOrganizationsStandIn } from "../standins/organizations";
import { startSsmStandIn } from "../standins/ssm";
import { startSqsStandIn } from "../standins/sqs";
import { startDynalite } from "./support/dynalite";
import { planOf } from "./support/plans";

const ROOT = join(__dirname, "..");

const run = planOf;

function inventory(resources: RecordedResource[]): string[] {
  return resources.map((resource) => `${resource.type} ${resource.name}`).sort();
}

function one(resources: RecordedResource[], name: string): RecordedResource {
  const found = resources.filter((resource) => resource.name === name);
  assert.equal(found.length, 1, `exactly one resource named ${name}`);
  return found[0] as RecordedResource;
}

function ofType(resources: RecordedResource[], type: string): RecordedResource[] {
  return resources.filter((resource) => resource.type === type);
}

function pattern(resources: RecordedResource[], name: string): Record<string, unknown> {
  return JSON.parse(String(one(resources, name).inputs.eventPattern)) as Record<string, unknown>;
}

function value<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

const ELECTRICEYE = {
  $or: [
    { ProductName: ["ElectricEye"] },
    { "Product Name": ["ElectricEye"] },
    { "aws/securityhub/ProductName": ["ElectricEye"] },
  ],
};
const findingsRule = (labels: string[]) => ({
  source: ["aws.securityhub"],
  "detail-type": ["Security Hub Findings - Imported"],
  detail: {
    findings: {
      ProductFields: ELECTRICEYE,
      Severity: { Label: labels },
      RecordState: ["ACTIVE"],
      Workflow: { Status: ["NEW", "NOTIFIED"] },
    },
  },
});
/** The resolve rule of a stack paging on `labels`: a failing finding below them closes its alert too. */
const resolveRule = (labels: string[]) => ({
  source: ["aws.securityhub"],
  "detail-type": ["Security Hub Findings - Imported"],
  detail: {
    findings: {
      ProductFields: ELECTRICEYE,
      $or: [
        { Compliance: { Status: ["PASSED"] } },
        { Workflow: { Status: ["RESOLVED", "SUPPRESSED"] } },
        { RecordState: ["ARCHIVED"] },
        { Severity: { Label: [{ "anything-but": labels }] } },
      ],
    },
  },
});

const SYNC = [
  "aws:cloudwatch/eventRule:EventRule delivery-page-on-demand-rule",
  "aws:cloudwatch/eventTarget:EventTarget delivery-page-on-demand-target",
  "electriceye-pagerduty:aws:SecurityHubSync sync",
  "aws:securityhub/actionTarget:ActionTarget sync-page-on-call",
  "aws:cloudwatch/logGroup:LogGroup sync-webhook-logs",
  "aws:iam/role:Role sync-webhook-role",
  "aws:iam/rolePolicy:RolePolicy sync-webhook-role-policy",
  "aws:lambda/function:Function sync-webhook-function",
  "aws:lambda/functionUrl:FunctionUrl sync-webhook-url",
  "aws:lambda/permission:Permission sync-webhook-url-permission",
  "aws:lambda/permission:Permission sync-webhook-invoke-permission",
  "pulumi-nodejs:dynamic:Resource sync-webhook-subscription",
  "aws:ssm/parameter:Parameter sync-webhook-secret",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-webhook-refusals-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-webhook-unavailable-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-security-hub-write-failures-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-webhook-function-errors-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-webhooks-silent-alarm",
];

const COMMON = [
  "aws:cloudwatch/eventRule:EventRule delivery-critical-findings-rule",
  "aws:cloudwatch/eventRule:EventRule delivery-resolutions-rule",
  "aws:cloudwatch/eventTarget:EventTarget delivery-critical-findings-target",
  "aws:cloudwatch/eventTarget:EventTarget delivery-resolutions-target",
  "aws:cloudwatch/logGroup:LogGroup delivery-logs",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-critical-backlog-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-dead-letters-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-function-errors-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-resolve-backlog-alarm",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-rule-dead-letters-alarm",
  "aws:dynamodb/table:Table delivery-state",
  "aws:iam/role:Role delivery-role",
  "aws:iam/rolePolicy:RolePolicy delivery-role-policy",
  "aws:lambda/eventSourceMapping:EventSourceMapping delivery-critical-mapping",
  "aws:lambda/eventSourceMapping:EventSourceMapping delivery-resolve-mapping",
  "aws:lambda/function:Function delivery-function",
  "aws:sns/topic:Topic operations-alarms",
  "aws:sns/topicSubscription:TopicSubscription operations-alarms-to-pagerduty",
  "aws:sqs/queue:Queue delivery-critical-queue",
  "aws:sqs/queue:Queue delivery-dead-letters",
  "aws:sqs/queue:Queue delivery-resolve-queue",
  "aws:sqs/queue:Queue delivery-rule-dead-letters",
  "aws:sqs/queuePolicy:QueuePolicy delivery-critical-queue-policy",
  "aws:sqs/queuePolicy:QueuePolicy delivery-resolve-queue-policy",
  "aws:sqs/queuePolicy:QueuePolicy delivery-rule-dead-letters-policy",
  "aws:ssm/parameter:Parameter delivery-routing-key",
  "electriceye-pagerduty:aws:FindingDelivery delivery",
  "electriceye-pagerduty:aws:Operations operations",
  "aws:cloudwatch/dashboard:Dashboard operations-dashboard",
  "aws:cloudwatch/metricAlarm:MetricAlarm operations-page-delay-alarm",
  "electriceye-pagerduty:pagerduty:PagerDutyService pagerduty",
  "pagerduty:index/escalationPolicy:EscalationPolicy pagerduty-escalation-policy",
  "pagerduty:index/service:Service pagerduty-service",
  "pagerduty:index/serviceIntegration:ServiceIntegration pagerduty-alarm-integration",
  "pagerduty:index/serviceIntegration:ServiceIntegration pagerduty-events-integration",
  "pagerduty:index/team:Team pagerduty-team",
  "pulumi:providers:pagerduty pagerduty-provider",
  "pulumi-nodejs:dynamic:Resource delivery-baseline",
];

describe("the Pulumi program under the mock engine", () => {
  describe("stack dev (CRITICAL ElectricEye findings)", () => {
    let dev: ProgramRun;
    before(async () => {
      dev = await run("dev");
    });

    it("creates exactly the expected resources", () => {
      assert.deepEqual(inventory(dev.resources), [...COMMON].sort());
    });

    it("routes CRITICAL findings to their lane and resolutions of any severity to theirs", () => {
      assert.deepEqual(pattern(dev.resources, "delivery-critical-findings-rule"), findingsRule(["CRITICAL"]));
      assert.deepEqual(pattern(dev.resources, "delivery-resolutions-rule"), resolveRule(["CRITICAL"]));
      const targets = ofType(dev.resources, "aws:cloudwatch/eventTarget:EventTarget");
      for (const target of targets) {
        assert.match(
          String((target.inputs.deadLetterConfig as { arn: string }).arn),
          /delivery-rule-dead-letters/,
        );
        assert.deepEqual(target.inputs.retryPolicy, {
          maximumEventAgeInSeconds: 86400,
          maximumRetryAttempts: 185,
        });
      }
      assert.match(
        String(one(dev.resources, "delivery-critical-findings-target").inputs.arn),
        /delivery-critical-queue/,
      );
      assert.match(
        String(one(dev.resources, "delivery-resolutions-target").inputs.arn),
        /delivery-resolve-queue/,
      );
    });

    it("creates the team, an escalation policy on it with the configured user, and a service without auto-resolve", () => {
      assert.equal(one(dev.resources, "pagerduty-team").inputs.name, "ElectricEye-Incidents-dev");
      const policy = one(dev.resources, "pagerduty-escalation-policy").inputs;
      assert.equal(policy.teams, "pagerduty-team-id");
      const rules = policy.rules as { targets: { type: string; id: string }[] }[];
      assert.deepEqual(
        rules[0]?.targets.map((target) => target.type),
        ["user_reference"],
      );
      const service = one(dev.resources, "pagerduty-service").inputs;
      assert.equal(service.autoResolveTimeout, "null");
      assert.equal(service.alertCreation, "create_alerts_and_incidents");
      assert.equal(service.acknowledgementTimeout, "1800");
      // Severity-based in and out of the support hours: the function sends the severity that gives the urgency.
      assert.deepEqual(service.incidentUrgencyRule, {
        type: "use_support_hours",
        duringSupportHours: { type: "constant", urgency: "severity_based" },
        outsideSupportHours: { type: "constant", urgency: "severity_based" },
      });
      assert.deepEqual(service.supportHours, {
        type: "fixed_time_per_day",
        timeZone: "UTC",
        daysOfWeeks: [1, 2, 3, 4, 5],
        startTime: "09:00:00",
        endTime: "17:00:00",
      });
      assert.equal(
        one(dev.resources, "pagerduty-events-integration").inputs.type,
        "events_api_v2_inbound_integration",
      );
    });

    it("stores the routing key in a SecureString parameter whose value is secret", () => {
      const parameter = one(dev.resources, "delivery-routing-key").inputs;
      assert.equal(parameter.type, "SecureString");
      assert.equal(parameter.name, "electriceye-pagerduty-dev");
      assert.ok(isSecretValue(parameter.value), "the value is a secret");
    });

    it("keeps the key out of every output, every environment variable and every plain input", async () => {
      const keys = [
        mockIntegrationKey("pagerduty-events-integration"),
        mockIntegrationKey("pagerduty-alarm-integration"),
      ];
      const plain = JSON.stringify(
        dev.resources.map((resource) => resource.inputs),
        (_, inner: unknown) => (isSecretValue(inner) ? "[secret]" : inner),
      );
      const everything = JSON.stringify(dev.resources.map((resource) => resource.inputs));
      assert.ok(
        keys.every((key) => everything.includes(key)),
        "the keys do reach the resources that need them",
      );
      for (const [name, output] of Object.entries(dev.outputs)) {
        const text = JSON.stringify(await value(output));
        for (const key of keys) assert.ok(!text.includes(key), `output ${name}`);
      }
      for (const key of keys) assert.ok(!plain.includes(key), "only inside secrets");
      const environment = (
        one(dev.resources, "delivery-function").inputs.environment as { variables: Record<string, string> }
      ).variables;
      assert.deepEqual(Object.keys(environment).sort(), [
        "ALERT_REFRESH_HOURS",
        "BACKLOG_UNTIL",
        "DEAD_LETTER_QUEUE_URL",
        "PACING_ID",
        "PAGERDUTY_EVENTS_PER_MINUTE",
        "PAGERDUTY_REGION",
        "PAGERDUTY_SERVICE_NAME",
        "PAGERDUTY_TIMEOUT_SECONDS",
        "PAGE_ACTIVE_ONLY",
        "PAGE_PRODUCTS",
        "PAGE_SEVERITY_LABELS",
        "PAGE_WORKFLOW_STATUSES",
        "RECORD_CONCURRENCY",
        "ROUTING_KEY_PARAMETER",
        "ROUTING_KEY_TTL_SECONDS",
        "SECURITY_HUB_SYNC",
        "STACK_NAME",
        "STATE_TABLE",
        "SUPPORT_HOURS",
        "URGENT_AT_ANY_HOUR",
      ]);
      assert.equal(environment.PAGE_SEVERITY_LABELS, "CRITICAL");
      const alarmSubscription = one(dev.resources, "operations-alarms-to-pagerduty").inputs;
      assert.ok(
        isSecretValue(alarmSubscription.endpoint),
        "the CloudWatch integration URL embeds a key: secret",
      );
    });

    it("deploys the callback on nodejs22.x, arm64, with only the project's code in the archive", async () => {
      const fn = one(dev.resources, "delivery-function").inputs;
      assert.equal(fn.runtime, "nodejs22.x");
      assert.deepEqual(fn.architectures, ["arm64"]);
      assert.equal(fn.timeout, 60);
      assert.match(String(fn.role), /^arn:aws:iam::\d{12}:role\/delivery-role/);
      // The project's code and Powertools' metrics; the AWS SDK is left to the runtime, which ships it.
      assert.deepEqual(await archiveEntries(one(dev.resources, "delivery-function")), [
        "__index.js",
        "node_modules/@aws-lambda-powertools/commons",
        "node_modules/@aws-lambda-powertools/metrics",
        "node_modules/@aws/lambda-invoke-store",
      ]);
      assert.deepEqual(
        (fn.loggingConfig as { logGroup: string }).logGroup,
        "/aws/lambda/electriceye-pagerduty-dev",
      );
      assert.equal(one(dev.resources, "delivery-logs").inputs.retentionInDays, 14);
    });

    it("maps each lane's queue to the function with batch size, maximum concurrency and partial batch responses", () => {
      const mappings = ofType(dev.resources, "aws:lambda/eventSourceMapping:EventSourceMapping");
      assert.equal(mappings.length, 2);
      for (const mapping of mappings) {
        assert.equal(mapping.inputs.batchSize, 10);
        assert.deepEqual(mapping.inputs.scalingConfig, { maximumConcurrency: 2 });
        assert.deepEqual(mapping.inputs.functionResponseTypes, ["ReportBatchItemFailures"]);
        assert.equal(mapping.inputs.maximumBatchingWindowInSeconds, 0);
      }
      for (const queue of ["delivery-critical-queue", "delivery-resolve-queue"]) {
        const inputs = one(dev.resources, queue).inputs;
        assert.equal(inputs.sqsManagedSseEnabled, true);
        assert.equal(inputs.visibilityTimeoutSeconds, 360, "six times the function timeout");
        assert.deepEqual(JSON.parse(String(inputs.redrivePolicy)).maxReceiveCount, 10);
      }
    });

    it("grants the function least privilege: named resources only, no * for SSM, KMS, SQS or DynamoDB", () => {
      const document = JSON.parse(
        String(one(dev.resources, "delivery-role-policy").inputs.policy),
      ) as PolicyDocument;
      const bySid = Object.fromEntries(document.Statement.map((statement) => [statement.Sid, statement]));
      assert.deepEqual(Object.keys(bySid).sort(), [
        "ConsumeLanes",
        "DeadLetter",
        "DeliveryState",
        "ReadRoutingKey",
        "WriteOwnLogs",
      ]);
      assert.deepEqual(bySid.ReadRoutingKey?.Action, "ssm:GetParameter");
      assert.deepEqual(bySid.DeliveryState?.Action, [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
      ]);
      assert.match(String(bySid.DeliveryState?.Resource), /:table\/delivery-state/);
      assert.deepEqual(one(dev.resources, "delivery-state").inputs.ttl, {
        attributeName: "expiresAt",
        enabled: true,
      });
      assert.equal(
        bySid.ReadRoutingKey?.Resource,
        "arn:aws:ssm:us-east-1:111122223333:parameter/electriceye-pagerduty-dev",
      );
      assert.deepEqual(bySid.DeadLetter?.Action, "sqs:SendMessage");
      assert.match(String(bySid.DeadLetter?.Resource), /delivery-dead-letters/);
      assert.equal((bySid.ConsumeLanes?.Resource as string[]).length, 2);
      assert.match(
        String(bySid.WriteOwnLogs?.Resource),
        /log-group:\/aws\/lambda\/electriceye-pagerduty-dev:\*$/,
      );
      for (const statement of document.Statement) {
        const resources = [statement.Resource].flat();
        assert.ok(
          resources.every(
            (resource) =>
              typeof resource === "string" && resource.startsWith("arn:aws:") && !resource.includes("*:"),
          ),
          JSON.stringify(statement),
        );
        assert.ok(!resources.includes("*"));
      }
      const assume = JSON.parse(
        String(one(dev.resources, "delivery-role").inputs.assumeRolePolicy),
      ) as PolicyDocument;
      assert.deepEqual(assume.Statement[0]?.Principal, { Service: "lambda.amazonaws.com" });
    });

    it("admits into each queue only the rules that target it, by aws:SourceArn", () => {
      const policy = JSON.parse(
        String(one(dev.resources, "delivery-critical-queue-policy").inputs.policy),
      ) as PolicyDocument;
      const statement = policy.Statement[0];
      assert.deepEqual(statement?.Principal, { Service: "events.amazonaws.com" });
      assert.equal(statement?.Action, "sqs:SendMessage");
      const sources = statement?.Condition?.ArnEquals?.["aws:SourceArn"];
      assert.equal(sources?.length, 1);
      assert.match(String(sources?.[0]), /rule\/delivery-critical-findings-rule/);
    });
  });

  describe("stack prod (HIGH and CRITICAL ElectricEye findings)", () => {
    let prod: ProgramRun;
    before(async () => {
      prod = await run("prod");
    });

    it("creates exactly the expected resources, with a standard lane for HIGH", () => {
      const expected = [
        ...COMMON,
        "aws:cloudwatch/eventRule:EventRule delivery-findings-rule",
        "aws:cloudwatch/eventTarget:EventTarget delivery-findings-target",
        "aws:cloudwatch/metricAlarm:MetricAlarm operations-standard-backlog-alarm",
        "aws:lambda/eventSourceMapping:EventSourceMapping delivery-standard-mapping",
        "aws:sqs/queue:Queue delivery-standard-queue",
        "aws:sqs/queuePolicy:QueuePolicy delivery-standard-queue-policy",
        "aws:sns/topicSubscription:TopicSubscription operations-alarms-to-email",
        ...SYNC,
      ];
      assert.deepEqual(inventory(prod.resources), expected.sort());
    });

    it("syncs with Security Hub: the custom action and its rule, the webhook endpoint, its subscription and secret", async () => {
      assert.deepEqual(pattern(prod.resources, "delivery-page-on-demand-rule"), {
        source: ["aws.securityhub"],
        "detail-type": ["Security Hub Findings - Custom Action"],
        resources: [{ suffix: ":action/custom/PageOnCallProd" }],
      });
      assert.match(
        String(one(prod.resources, "delivery-page-on-demand-target").inputs.arn),
        /delivery-critical-queue/,
      );
      assert.deepEqual(one(prod.resources, "sync-page-on-call").inputs, {
        name: "Page on-call prod",
        identifier: "PageOnCallProd",
        description: "Page on-call through PagerDuty",
      });
      assert.equal(one(prod.resources, "sync-webhook-url").inputs.authorizationType, "NONE");
      const webhook = one(prod.resources, "sync-webhook-function").inputs;
      assert.equal(webhook.reservedConcurrentExecutions, 2, "the endpoint's concurrency is bounded");
      const subscription = one(prod.resources, "sync-webhook-subscription").inputs;
      assert.deepEqual(subscription.events, [
        "incident.triggered",
        "incident.acknowledged",
        "incident.resolved",
        "incident.reopened",
        "incident.annotated",
      ]);
      assert.ok(isSecretValue(subscription.token), "the PagerDuty token stays secret");
      assert.match(String(subscription.url), /^https:\/\/.*\.lambda-url\.us-east-1\.on\.aws\/$/);
      const secret = one(prod.resources, "sync-webhook-secret").inputs;
      assert.equal(secret.type, "SecureString");
      assert.ok(isSecretValue(secret.value));
      const outputs = JSON.stringify(
        await Promise.all(Object.values(prod.outputs).map((output) => value(output))),
      );
      const environments = JSON.stringify(
        ofType(prod.resources, "aws:lambda/function:Function").map((fn) => fn.inputs.environment),
      );
      for (const text of [outputs, environments]) {
        assert.ok(
          !text.includes(mockWebhookSecret("sync-webhook-subscription")),
          "the signing secret is only in SSM",
        );
        assert.ok(!text.includes(mockIntegrationKey("pagerduty-events-integration")));
      }
      const environment = (webhook.environment as { variables: Record<string, string> }).variables;
      assert.equal(environment.WEBHOOK_SECRET_PARAMETER, "electriceye-pagerduty-prod-webhook-secret");
    });

    it("grants securityhub:BatchUpdateFindings on the account's two hubs in its Region only, and each function only its own secret", () => {
      const policies = ["delivery-role-policy", "sync-webhook-role-policy"].map(
        (name) => JSON.parse(String(one(prod.resources, name).inputs.policy)) as PolicyDocument,
      );
      for (const document of policies) {
        const grants = document.Statement.filter((statement) =>
          [statement.Action].flat().some((action) => action.startsWith("securityhub:")),
        );
        assert.deepEqual(
          grants.map((statement) => [statement.Action, statement.Resource]),
          [
            [
              "securityhub:BatchUpdateFindings",
              [
                "arn:aws:securityhub:us-east-1:111122223333:hub/default",
                "arn:aws:securityhub:us-east-1:111122223333:hubv2/*",
              ],
            ],
          ],
        );
      }
      const webhook = policies[1] as PolicyDocument;
      assert.deepEqual(
        webhook.Statement.map((statement) => statement.Sid),
        ["WriteOwnLogs", "ReadSigningSecret", "AlertState", "WriteBackToSecurityHub"],
      );
      assert.equal(
        webhook.Statement.find((statement) => statement.Sid === "ReadSigningSecret")?.Resource,
        "arn:aws:ssm:us-east-1:111122223333:parameter/electriceye-pagerduty-prod-webhook-secret",
      );
      assert.ok(
        !JSON.stringify(policies[0]).includes("webhook-secret"),
        "the delivery function cannot read the webhook secret",
      );
    });

    it("splits the configured labels between the critical and standard lanes", () => {
      assert.deepEqual(
        pattern(prod.resources, "delivery-critical-findings-rule"),
        findingsRule(["CRITICAL"]),
      );
      assert.deepEqual(pattern(prod.resources, "delivery-findings-rule"), findingsRule(["HIGH"]));
      assert.deepEqual(
        pattern(prod.resources, "delivery-resolutions-rule"),
        resolveRule(["HIGH", "CRITICAL"]),
      );
      assert.match(
        String(one(prod.resources, "delivery-findings-target").inputs.arn),
        /delivery-standard-queue/,
      );
    });

    it("has a dashboard whose every metric is one the functions emit or one AWS publishes for a resource of the stack", async () => {
      const body = JSON.parse(String(one(prod.resources, "operations-dashboard").inputs.dashboardBody)) as {
        widgets: { properties: { title: string; metrics: unknown[][] } }[];
      };
      const emitted = new Map<string, string[]>(
        [...Object.keys(COUNTS), IMPORT_TO_PAGE].map((name) => [
          name,
          [...(name === "PagesSent" ? PAGE_DIMENSIONS : BASE_DIMENSIONS)],
        ]),
      );
      const physical = (type: string) => new Set(ofType(prod.resources, type).map(physicalName));
      const queueNames = physical("aws:sqs/queue:Queue");
      const functions = physical("aws:lambda/function:Function");
      assert.ok(body.widgets.length >= 8);
      for (const { properties } of body.widgets) {
        for (const spec of properties.metrics) {
          const [namespace, metric, ...rest] = spec.filter((part) => typeof part === "string") as string[];
          const dimensions = Object.fromEntries(
            Array.from({ length: rest.length / 2 }, (_, index) => [rest[index * 2], rest[index * 2 + 1]]),
          );
          const where = `${properties.title}: ${namespace} ${metric}`;
          if (namespace === "ElectricEyePagerDuty") {
            assert.deepEqual(Object.keys(dimensions), emitted.get(String(metric)), where);
            assert.equal(dimensions.Stack, "prod", where);
          } else if (namespace === "AWS/SQS") {
            assert.ok(queueNames.has(String(dimensions.QueueName)), `${where} on a queue of the stack`);
          } else {
            assert.equal(namespace, "AWS/Lambda", where);
            assert.ok(functions.has(String(dimensions.FunctionName)), `${where} of a function of the stack`);
          }
        }
      }
    });

    it("alarms when import-to-page (p99) or the standard lane's oldest finding passes pageDelayAlarmMinutes, to the alarm topic", async () => {
      const delay = one(prod.resources, "operations-page-delay-alarm").inputs;
      assert.equal(delay.namespace, "ElectricEyePagerDuty");
      assert.equal(delay.metricName, "ImportToPageMs");
      assert.equal(delay.extendedStatistic, "p99");
      assert.deepEqual(delay.dimensions, { service: "electriceye-pagerduty", Stack: "prod" });
      assert.equal(delay.threshold, 3_600_000);
      assert.equal(one(prod.resources, "operations-standard-backlog-alarm").inputs.threshold, 3600);
      const shorter = await run("prod", { pageDelayAlarmMinutes: "20" });
      assert.equal(one(shorter.resources, "operations-page-delay-alarm").inputs.threshold, 1_200_000);
      const topic = `arn:aws:sns:us-east-1:111122223333:${physicalName(one(prod.resources, "operations-alarms"))}`;
      for (const alarm of ofType(prod.resources, "aws:cloudwatch/metricAlarm:MetricAlarm"))
        assert.deepEqual(alarm.inputs.alarmActions, [topic], alarm.name);
    });

    it("alarms on the sync: webhook refusals and 5xx answers, Security Hub write failures, the webhook function's errors, and pages without any webhook back (a subscription PagerDuty disabled), each on a metric the functions emit", () => {
      const emitted = (name: string, dimensions: unknown) => {
        assert.ok(name in COUNTS, name);
        assert.deepEqual(
          Object.keys(dimensions as object).sort(),
          [...(name === "PagesSent" ? PAGE_DIMENSIONS : BASE_DIMENSIONS)].sort(),
          name,
        );
      };
      for (const suffix of ["webhook-refusals", "webhook-unavailable", "security-hub-write-failures"]) {
        const { inputs } = one(prod.resources, `operations-${suffix}-alarm`);
        assert.equal(inputs.namespace, "ElectricEyePagerDuty");
        emitted(String(inputs.metricName), inputs.dimensions);
      }
      const webhookFunction = physicalName(one(prod.resources, "sync-webhook-function"));
      assert.deepEqual(one(prod.resources, "operations-webhook-function-errors-alarm").inputs.dimensions, {
        FunctionName: webhookFunction,
      });
      const silent = one(prod.resources, "operations-webhooks-silent-alarm").inputs as {
        metricQueries: {
          id: string;
          expression?: string;
          metric?: { metricName: string; dimensions: object };
        }[];
      };
      const metrics = silent.metricQueries.flatMap((query) =>
        query.metric === undefined ? [] : [query.metric],
      );
      for (const metric of metrics) emitted(metric.metricName, metric.dimensions);
      assert.deepEqual([...new Set(metrics.map((metric) => metric.metricName))].sort(), [
        "PagesSent",
        "WebhooksApplied",
      ]);
      assert.match(
        String(silent.metricQueries.at(-1)?.expression),
        /^IF\(.+ > 0 AND FILL\(webhooks, 0\) == 0, 1, 0\)$/,
      );
    });

    it("puts the schedule and the user on the escalation policy", () => {
      const rules = one(prod.resources, "pagerduty-escalation-policy").inputs.rules as {
        escalationDelayInMinutes: number;
        targets: { type: string }[];
      }[];
      assert.equal(rules[0]?.escalationDelayInMinutes, 15);
      assert.deepEqual(
        rules[0]?.targets.map((target) => target.type),
        ["schedule_reference", "user_reference"],
      );
    });

    it("lists every output a deployment needs", async () => {
      const outputs = Object.fromEntries(
        await Promise.all(
          Object.entries(prod.outputs).map(async ([name, output]) => [name, await value(output)] as const),
        ),
      );
      assert.equal(outputs.parameterName, "electriceye-pagerduty-prod");
      assert.equal(outputs.functionName, "electriceye-pagerduty-prod");
      assert.deepEqual(Object.keys(outputs.queueUrls as object), ["critical", "resolve", "standard"]);
      assert.match(
        String((outputs.queueArns as Record<string, string>).standard),
        /^arn:aws:sqs:us-east-1:\d{12}:delivery-standard-queue/,
      );
      assert.match(String(outputs.deadLetterQueueArn), /^arn:aws:sqs:.*delivery-dead-letters/);
      assert.match(String(outputs.ruleDeadLetterQueueArn), /^arn:aws:sqs:.*delivery-rule-dead-letters/);
      assert.equal((outputs.ruleNames as string[]).length, 4);
      assert.match(String(outputs.securityHubActionArn), /:action\/custom\/PageOnCallProd$/);
      assert.match(String(outputs.webhookUrl), /^https:\/\/.*\.lambda-url\./);
      assert.equal(outputs.webhookSecretParameterName, "electriceye-pagerduty-prod-webhook-secret");
      assert.match(String(outputs.deadLetterQueueUrl), /^https:\/\/sqs\./);
      assert.match(String(outputs.pagerdutyServiceId), /pagerduty-service-id/);
      assert.match(String(outputs.pagerdutyIntegrationId), /pagerduty-events-integration-id/);
      assert.equal(outputs.dashboardName, "electriceye-pagerduty-prod");
      assert.equal(
        outputs.dashboardUrl,
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/electriceye-pagerduty-prod",
      );
    });
  });

  describe("options", () => {
    it("puts the support hours on the service and in the function, which takes the first day after the first deploy as the backlog, and pages by control", async () => {
      const { resources } = await run("prod", {
        supportHours: "Mon-Thu,Sat 08:30-18:00 Europe/Berlin",
        alertPer: "control",
        alertGroupFields: "control,account,region",
      });
      assert.deepEqual(one(resources, "pagerduty-service").inputs.supportHours, {
        type: "fixed_time_per_day",
        timeZone: "Europe/Berlin",
        daysOfWeeks: [1, 2, 3, 4, 6],
        startTime: "08:30:00",
        endTime: "18:00:00",
      });
      const settings = settingsFromEnvironment(
        (one(resources, "delivery-function").inputs.environment as { variables: Record<string, string> })
          .variables,
      );
      assert.deepEqual(settings.urgency, {
        supportHours: { timeZone: "Europe/Berlin", days: [1, 2, 3, 4, 6], startMinute: 510, endMinute: 1080 },
        urgentAtAnyHour: ["CRITICAL"],
        backlogUntil: Date.parse(MOCK_DEPLOYED_AT) + 24 * 3600_000,
      });
      assert.deepEqual(settings.grouping, {
        per: "control",
        fields: ["account", "region"],
        criticalAlone: true,
      });
    });

    it("with supportHours always and no baseline, keeps PagerDuty's severity-based urgency at every hour and no backlog", async () => {
      const { resources } = await run("prod", { supportHours: "always", backlogBaselineHours: "0" });
      const service = one(resources, "pagerduty-service").inputs;
      assert.deepEqual(service.incidentUrgencyRule, { type: "constant", urgency: "severity_based" });
      assert.equal(service.supportHours, undefined);
      assert.equal(
        resources.some((resource) => resource.name === "delivery-baseline"),
        false,
      );
      const settings = settingsFromEnvironment(
        (one(resources, "delivery-function").inputs.environment as { variables: Record<string, string> })
          .variables,
      );
      assert.deepEqual(settings.urgency, {
        supportHours: undefined,
        urgentAtAnyHour: ["CRITICAL"],
        backlogUntil: undefined,
      });
    });

    it("drops the resolve rule when resolveRule is false", async () => {
      const { resources } = await run("dev", { resolveRule: "false" });
      assert.deepEqual(
        ofType(resources, "aws:cloudwatch/eventRule:EventRule").map((rule) => rule.name),
        ["delivery-critical-findings-rule"],
      );
      assert.equal(ofType(resources, "aws:sqs/queue:Queue").length, 3);
    });

    it("uses one standard lane for everything when priorityLanes is false", async () => {
      const { resources } = await run("prod", { priorityLanes: "false" });
      assert.deepEqual(pattern(resources, "delivery-findings-rule"), findingsRule(["HIGH", "CRITICAL"]));
      assert.deepEqual(
        ofType(resources, "aws:cloudwatch/eventTarget:EventTarget").map((target) =>
          String(target.inputs.arn).includes("delivery-standard-queue"),
        ),
        [true, true, true],
      );
      assert.equal(ofType(resources, "aws:lambda/eventSourceMapping:EventSourceMapping").length, 1);
    });

    it("with findingFormats both, adds the new Security Hub's V2 rules into the same lanes, and ocsf has them alone", async () => {
      const both = await run("prod", { findingFormats: "both" });
      const rules = ofType(both.resources, "aws:cloudwatch/eventRule:EventRule").map((rule) => rule.name);
      assert.deepEqual(rules.sort(), [
        "delivery-critical-findings-rule",
        "delivery-critical-findings-v2-rule",
        "delivery-findings-rule",
        "delivery-findings-v2-rule",
        "delivery-page-on-demand-rule",
        "delivery-resolutions-rule",
        "delivery-resolutions-v2-rule",
      ]);
      assert.deepEqual(
        pattern(both.resources, "delivery-findings-rule"),
        findingsRule(["HIGH"]),
        "ASFF as before",
      );
      assert.deepEqual(pattern(both.resources, "delivery-critical-findings-v2-rule"), {
        source: ["aws.securityhub"],
        "detail-type": ["Findings Imported V2"],
        detail: {
          findings: {
            metadata: { product: { name: ["ElectricEye"] } },
            $or: [{ severity: ["Critical", "Fatal"] }, { severity_id: [5, 6] }],
            status: ["New", "In Progress"],
          },
        },
      });
      assert.match(
        String(one(both.resources, "delivery-resolutions-v2-target").inputs.arn),
        /delivery-resolve-queue/,
      );
      assert.match(
        String(one(both.resources, "delivery-findings-v2-target").inputs.arn),
        /delivery-standard-queue/,
      );
      const only = await run("prod", { findingFormats: "ocsf" });
      assert.deepEqual(
        ofType(only.resources, "aws:cloudwatch/eventRule:EventRule")
          .map((rule) => rule.name)
          .sort(),
        [
          "delivery-critical-findings-v2-rule",
          "delivery-findings-v2-rule",
          "delivery-page-on-demand-rule",
          "delivery-resolutions-v2-rule",
        ],
      );
    });

    it("matches every product when allProducts is true, and the pattern says nothing of products", async () => {
      const { resources } = await run("prod", { products: "[]", allProducts: "true" });
      const findings = (
        pattern(resources, "delivery-findings-rule").detail as { findings: Record<string, unknown> }
      ).findings;
      assert.equal(findings.ProductFields, undefined);
    });

    it("with an existing routing key creates nothing in PagerDuty and keeps the key secret", async () => {
      const key = "e93facc04764012d7bfb002500d5d1a6";
      const { resources, outputs } = await run("dev", {
        escalationUserEmails: "[]",
        teamName: "",
        existingRoutingKey: key,
      });
      assert.deepEqual(
        resources.filter((resource) => resource.type.startsWith("pagerduty:")),
        [],
      );
      assert.ok(isSecretValue(one(resources, "delivery-routing-key").inputs.value));
      const plain = JSON.stringify(
        resources.map((resource) => resource.inputs),
        (_, inner: unknown) => (isSecretValue(inner) ? "[secret]" : inner),
      );
      assert.ok(!plain.includes(key));
      assert.equal(await value(outputs.pagerdutyServiceId as pulumi.Output<unknown>), undefined);
      assert.equal(
        ofType(resources, "aws:sns/topicSubscription:TopicSubscription").length,
        0,
        "no PagerDuty endpoint, no email: topic only",
      );
    });

    it("with an existing routing key and the sync on: the custom action and the write-back, no webhook (no API token)", async () => {
      const { resources } = await run("prod", {
        escalationUserEmails: "[]",
        escalationScheduleNames: "[]",
        existingRoutingKey: "e93facc04764012d7bfb002500d5d1a6",
      });
      const names = resources.map((resource) => resource.name);
      assert.ok(names.includes("sync-page-on-call"));
      assert.ok(names.includes("delivery-page-on-demand-rule"));
      assert.deepEqual(
        names.filter((name) => name.startsWith("sync-webhook")),
        [],
      );
      assert.match(
        String(one(resources, "delivery-role-policy").inputs.policy),
        /securityhub:BatchUpdateFindings/,
      );
    });

    it("with an existing service adds only the integrations to it", async () => {
      const { resources } = await run("dev", {
        escalationUserEmails: "[]",
        teamName: "",
        existingServiceId: "PSVC123",
      });
      assert.deepEqual(
        resources
          .filter((resource) => resource.type.startsWith("pagerduty:"))
          .map((resource) => resource.name)
          .sort(),
        ["pagerduty-alarm-integration", "pagerduty-events-integration"],
      );
      assert.equal(one(resources, "pagerduty-events-integration").inputs.service, "PSVC123");
    });

    it("grants kms:Decrypt for a customer key only through SSM, and selects the EU service region", async () => {
      const kmsKeyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
      const { resources } = await run("dev", { kmsKeyArn, pagerdutyRegion: "eu" });
      assert.equal(one(resources, "delivery-routing-key").inputs.keyId, kmsKeyArn);
      const document = JSON.parse(
        String(one(resources, "delivery-role-policy").inputs.policy),
      ) as PolicyDocument;
      const decrypt = document.Statement.find((statement) => statement.Action === "kms:Decrypt");
      assert.deepEqual(decrypt, {
        Sid: "DecryptRoutingKeyViaSsm",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: kmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": "ssm.us-east-1.amazonaws.com" } },
      });
      assert.equal(one(resources, "pagerduty-provider").inputs.serviceRegion, "eu");
      const environment = (
        one(resources, "delivery-function").inputs.environment as { variables: Record<string, string> }
      ).variables;
      assert.equal(environment.PAGERDUTY_REGION, "eu");
    });

    it("without alarms creates no topic and no CloudWatch integration", async () => {
      const { resources } = await run("dev", { alarms: "false" });
      assert.equal(ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").length, 0);
      assert.equal(
        resources.some((resource) => resource.name === "pagerduty-alarm-integration"),
        false,
      );
    });
  });

  describe("stack org (a delegated administrator with three routes and the default)", () => {
    let org: ProgramRun;
    before(async () => {
      org = await run("org");
    });
    const policyOf = (resources: RecordedResource[]) =>
      Object.fromEntries(
        (
          JSON.parse(String(one(resources, "delivery-role-policy").inputs.policy)) as PolicyDocument
        ).Statement.map((statement) => [statement.Sid, statement]),
      );

    it("creates one PagerDuty side per route, and each route's routing key in its own SecureString", () => {
      assert.deepEqual(
        ofType(org.resources, "electriceye-pagerduty:pagerduty:PagerDutyService").map(
          (resource) => resource.name,
        ),
        ["pagerduty", "pagerduty-payments", "pagerduty-platform", "pagerduty-data"],
      );
      assert.deepEqual(
        ofType(org.resources, "pagerduty:index/service:Service").map((resource) => resource.inputs.name),
        [
          "Security Hub findings (org, security)",
          "Security Hub findings (org, payments)",
          "Security Hub findings (org, data)",
        ],
      );
      // The platform route adds an integration to the platform team's own service.
      assert.equal(one(org.resources, "pagerduty-platform-events-integration").inputs.service, "PPLAT01");
      const parameters = ofType(org.resources, "aws:ssm/parameter:Parameter").filter((resource) =>
        resource.name.endsWith("routing-key"),
      );
      assert.deepEqual(parameters.map((parameter) => parameter.inputs.name).sort(), [
        "electriceye-pagerduty-org",
        "electriceye-pagerduty-org-data",
        "electriceye-pagerduty-org-payments",
        "electriceye-pagerduty-org-platform",
      ]);
      for (const parameter of parameters) {
        assert.equal(parameter.inputs.type, "SecureString");
        assert.ok(isSecretValue(parameter.inputs.value));
      }
    });

    it("gives the payments route two integrations, each key in its own parameter", () => {
      const integrations = ofType(org.resources, "pagerduty:index/serviceIntegration:ServiceIntegration")
        .map((resource) => resource.name)
        .filter((name) => name.startsWith("pagerduty-payments-events-integration"));
      assert.deepEqual(integrations, [
        "pagerduty-payments-events-integration",
        "pagerduty-payments-events-integration-2",
      ]);
      const parameters = ofType(org.resources, "aws:ssm/parameter:Parameter").map(
        (resource) => resource.inputs.name,
      );
      assert.ok(parameters.includes("electriceye-pagerduty-org-payments.key2"), parameters.join(", "));
    });

    it("grants GetParameter on exactly the routes' parameters, and only Organizations' three read calls", () => {
      const bySid = policyOf(org.resources);
      assert.deepEqual(
        bySid.ReadRoutingKey?.Resource,
        ["", "-payments", "-payments.key2", "-platform", "-data"].map(
          (suffix) => `arn:aws:ssm:us-east-1:111122223333:parameter/electriceye-pagerduty-org${suffix}`,
        ),
      );
      assert.deepEqual(bySid.ReadAccountFacts?.Action, [
        "organizations:ListTagsForResource",
        "organizations:ListParents",
        "organizations:DescribeOrganizationalUnit",
      ]);
      assert.equal(bySid.AssumeOrganizationsReader, undefined);
    });

    it("puts the stack's support hours on every service it creates, a route's as the stack's own", () => {
      const services = ofType(org.resources, "pagerduty:index/service:Service");
      assert.equal(services.length, 3);
      for (const service of services) {
        assert.deepEqual(
          service.inputs.supportHours,
          one(org.resources, "pagerduty-service").inputs.supportHours,
        );
        assert.equal((service.inputs.incidentUrgencyRule as { type: string }).type, "use_support_hours");
      }
    });

    it("tells the function its routes, excluded account and cache, and no key", () => {
      const variables = (
        one(org.resources, "delivery-function").inputs.environment as { variables: Record<string, string> }
      ).variables;
      const routes = JSON.parse(variables.ROUTES ?? "[]") as { name: string; parameterName: string }[];
      assert.deepEqual(
        routes.map((route) => [route.name, route.parameterName]),
        [
          ["payments", "electriceye-pagerduty-org-payments"],
          ["platform", "electriceye-pagerduty-org-platform"],
          ["data", "electriceye-pagerduty-org-data"],
        ],
      );
      assert.equal(variables.EXCLUDE_ACCOUNTS, "999988887777");
      assert.equal(variables.ACCOUNT_FACTS_CACHE_MINUTES, "15");
      assert.ok(
        !JSON.stringify(variables).includes(mockIntegrationKey("pagerduty-payments-events-integration")),
      );
    });

    it("takes every lane in batches of 1,000 gathered over a second (the critical lane for a second at most, whatever the stack's window), and reads a batch's state with BatchGetItem on the table alone", () => {
      const batches = Object.fromEntries(
        ofType(org.resources, "aws:lambda/eventSourceMapping:EventSourceMapping").map((mapping) => [
          mapping.name,
          [mapping.inputs.batchSize, mapping.inputs.maximumBatchingWindowInSeconds],
        ]),
      );
      assert.deepEqual(batches, {
        "delivery-critical-mapping": [1000, 1],
        "delivery-resolve-mapping": [1000, 1],
        "delivery-standard-mapping": [1000, 1],
      });
      assert.equal(
        one(org.resources, "delivery-resolve-queue").inputs.visibilityTimeoutSeconds,
        361,
        "six times the function timeout, plus the batching window",
      );
      const state = policyOf(org.resources).DeliveryState;
      assert.deepEqual(state?.Action, ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"]);
      assert.equal(typeof state?.Resource, "string");
      const variables = (
        one(org.resources, "delivery-function").inputs.environment as { variables: Record<string, string> }
      ).variables;
      assert.equal(variables.RECORD_CONCURRENCY, "50");
    });

    it("subscribes every route's service to the one webhook endpoint, each with its own signing secret the endpoint may read", () => {
      const services = Object.fromEntries(
        [
          "webhook-subscription",
          "payments-webhook-subscription",
          "platform-webhook-subscription",
          "data-webhook-subscription",
        ].map((name) => [name, one(org.resources, `sync-${name}`).inputs.serviceId]),
      );
      assert.equal(services["platform-webhook-subscription"], "PPLAT01");
      assert.equal(new Set(Object.values(services)).size, 4, "one subscription per service");
      const secrets = ["", "-payments", "-platform", "-data"].map(
        (route) => `electriceye-pagerduty-org${route}-webhook-secret`,
      );
      for (const name of secrets)
        assert.equal(org.resources.filter((resource) => resource.inputs.name === name).length, 1, name);
      const variables = (
        one(org.resources, "sync-webhook-function").inputs.environment as {
          variables: Record<string, string>;
        }
      ).variables;
      const routes = JSON.parse(String(variables.WEBHOOK_ROUTES)) as {
        serviceId: string;
        secretParameterName: string;
      }[];
      assert.deepEqual(
        routes.map((route) => route.secretParameterName),
        secrets.slice(1),
      );
      assert.equal(routes[1]?.serviceId, "PPLAT01");
      const read = (
        JSON.parse(String(one(org.resources, "sync-webhook-role-policy").inputs.policy)) as PolicyDocument
      ).Statement.find((statement) => statement.Sid === "ReadSigningSecret");
      assert.equal((read?.Resource as string[]).length, 4);
    });

    it("alarms when findings keep taking the default route because AWS Organizations cannot be read", async () => {
      const alarm = one(org.resources, "operations-account-facts-alarm").inputs;
      assert.equal(alarm.metricName, "AccountFactsUnavailable");
      assert.equal(alarm.evaluationPeriods, 3);
      assert.equal(alarm.threshold, 0);
      const prod = await run("prod");
      assert.ok(
        !prod.resources.some((resource) => resource.name === "operations-account-facts-alarm"),
        "a stack that never reads Organizations has no such alarm",
      );
    });

    it("through a role in the management account, may assume that role and read nothing of Organizations itself", async () => {
      const roleArn = "arn:aws:iam::123456789012:role/electriceye-pagerduty-organizations-reader";
      const { resources } = await run("org", { organizationsRoleArn: roleArn });
      const bySid = policyOf(resources);
      assert.deepEqual(bySid.AssumeOrganizationsReader, {
        Sid: "AssumeOrganizationsReader",
        Effect: "Allow",
        Action: "sts:AssumeRole",
        Resource: roleArn,
      });
      assert.equal(bySid.ReadAccountFacts, undefined);
    });
  });

  describe("configuration errors", () => {
    const configFor = (overrides: Record<string, string>) =>
      readStackConfig(mapConfigSource(planSettings("dev", overrides).settings));
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        "an unknown severity label",
        { severityLabels: '["CRITICAL", "SEVERE"]' },
        /^config electriceye-pagerduty:severityLabels is \["CRITICAL","SEVERE"\]: expected one or more of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL$/,
      ],
      [
        "no escalation target",
        { escalationUserEmails: "[]" },
        /^config electriceye-pagerduty:escalationUserEmails and electriceye-pagerduty:escalationScheduleNames are both empty: the escalation policy needs at least one PagerDuty user \(by email\) or schedule \(by name\)$/,
      ],
      [
        "a malformed email",
        { escalationUserEmails: '["oncall.example.com"]' },
        /^config electriceye-pagerduty:escalationUserEmails is "oncall\.example\.com": expected an email address of a PagerDuty user$/,
      ],
      [
        "both an existing key and a service to create",
        { existingRoutingKey: "e93facc04764012d7bfb002500d5d1a6" },
        /^config electriceye-pagerduty:existingRoutingKey is set, and so are electriceye-pagerduty:escalationUserEmails, electriceye-pagerduty:teamName: an existing routing key means nothing is created in PagerDuty; remove them or electriceye-pagerduty:existingRoutingKey$/,
      ],
      [
        "an existing service and every key that only a created service uses, at once",
        {
          existingServiceId: "PSVC123",
          serviceName: "Findings",
          escalationScheduleNames: "Security On-Call",
        },
        /^config electriceye-pagerduty:existingServiceId is set, and so are electriceye-pagerduty:escalationUserEmails, electriceye-pagerduty:escalationScheduleNames, electriceye-pagerduty:teamName, electriceye-pagerduty:serviceName: an existing service keeps its own team, name and escalation policy; remove them or electriceye-pagerduty:existingServiceId$/,
      ],
      [
        "a list given with commas, checked item by item",
        { severityLabels: "HIGH,URGENT" },
        /^config electriceye-pagerduty:severityLabels is \["HIGH","URGENT"\]: expected one or more of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL$/,
      ],
      [
        "a custom action id Security Hub refuses",
        { customActionId: "Page-On-Call" },
        /^config electriceye-pagerduty:customActionId is "Page-On-Call": expected 1 to 20 letters and digits/,
      ],
      [
        "a tag without a value",
        { tags: "team" },
        /^config electriceye-pagerduty:tags is "team": expected KEY=VALUE pairs/,
      ],
      [
        "a rate above PagerDuty's",
        { eventsPerMinute: "150" },
        /eventsPerMinute is "150": expected a whole number from 1 to 120$/,
      ],
      [
        "an unknown finding format",
        { findingFormats: "ocsf2" },
        /findingFormats is "ocsf2": expected one of asff, ocsf, both$/,
      ],
      [
        "more concurrent invocations than the send schedule can serve",
        { maximumConcurrency: "1000" },
        /maximumConcurrency is 1000: expected at most \d+ with functionTimeoutSeconds 60, eventsPerMinute 115 and \d lane\(s\)/,
      ],
      [
        "PagerDuty's time-based grouping, which the provider would send in a form PagerDuty refuses",
        { alertGrouping: "time" },
        /^config electriceye-pagerduty:alertGrouping is "time": expected none: this program no longer sets PagerDuty's grouping .* set Alert Grouping Settings on the service in PagerDuty/,
      ],
      [
        "a group field that is none of the four",
        { alertGroupFields: "control,team" },
        /^config electriceye-pagerduty:alertGroupFields is "team": expected any of control, account, region, resourceType$/,
      ],
      [
        "group fields that do not start with the control",
        { alertGroupFields: "account,control" },
        /^config electriceye-pagerduty:alertGroupFields is \["account","control"\]: expected control first/,
      ],
      [
        "support hours without a time zone",
        { supportHours: "Mon-Fri 09:00-17:00" },
        /^config electriceye-pagerduty:supportHours is "Mon-Fri 09:00-17:00": expected "always" or days, hours and an IANA time zone such as "Mon-Fri 09:00-17:00 Europe\/Berlin"/,
      ],
      [
        "support hours in an unknown time zone",
        { supportHours: "Mon-Fri 09:00-17:00 Europe/Berlinn" },
        /supportHours is "Mon-Fri 09:00-17:00 Europe\/Berlinn": Europe\/Berlinn is not an IANA time zone/,
      ],
      [
        "support hours that end before they start",
        { supportHours: "Mon-Fri 17:00-09:00 UTC" },
        /supportHours is "Mon-Fri 17:00-09:00 UTC": expected "always"/,
      ],
      [
        "an unknown severity among those urgent at any hour",
        { urgentAtAnyHour: '["SEVERE"]' },
        /urgentAtAnyHour is \["SEVERE"\]: expected any of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL$/,
      ],
      [
        "a batch above ten records without a batching window",
        { batchSize: "100" },
        /maximumBatchingWindowSeconds is 0: expected 1 to 300 with batchSize 100: Lambda takes more than 10 records a batch only with a batching window$/,
      ],
      [
        "a batch an invocation's 6 MB cannot carry",
        { batchSize: "5000", maximumBatchingWindowSeconds: "1" },
        /batchSize is 5000: expected at most 1536: an invocation carries at most 6 MB/,
      ],
      [
        "a batch the function cannot read in its time",
        {
          batchSize: "1500",
          maximumBatchingWindowSeconds: "1",
          recordConcurrency: "1",
          functionTimeoutSeconds: "10",
        },
        /batchSize is 1500: expected at most 100 with recordConcurrency 1 and functionTimeoutSeconds 10: reading a batch/,
      ],
      [
        "an unknown PagerDuty region",
        { pagerdutyRegion: "apac" },
        /pagerdutyRegion is "apac": expected one of us, eu$/,
      ],
    ];
    for (const [what, overrides, message] of cases) {
      it(`names the key, the value and what is allowed for ${what}`, () => {
        assert.throws(
          () => configFor(overrides),
          (error: Error) => {
            assert.ok(error instanceof ConfigError);
            assert.match(error.message, message);
            return true;
          },
        );
      });
    }

    it("refuses keys Pulumi.yaml does not declare and values of the wrong type, as the CLI does", () => {
      assert.throws(
        () => loadStackSettings("dev", { severityLabel: '["HIGH"]' }),
        /config electriceye-pagerduty:severityLabel is not declared in Pulumi.yaml/,
      );
      assert.throws(
        () => loadStackSettings("dev", { batchSize: "ten" }),
        /batchSize is "ten": Pulumi.yaml declares it as integer/,
      );
    });

    it("makes the plan command exit non-zero with the message alone", () => {
      const result = spawnSync(
        "npx",
        ["ts-node", "tools/plan.ts", "--stack", "dev", "--config", 'severityLabels=["URGENT"]'],
        {
          cwd: ROOT,
          encoding: "utf8",
        },
      );
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        /^plan: .*\nplan: config electriceye-pagerduty:severityLabels is \["URGENT"\]: expected one or more of/,
      );
      assert.equal(result.stdout, "");
    });
  });
});

describe("the shipped archives, run in a fresh Node.js process", () => {
  it("pages a CRITICAL finding, writes it back to Security Hub, takes PagerDuty's signed webhook, and resolves on the PASSED re-import", async () => {
    const { resources } = await run("prod");
    const directory = mkdtempSync(join(tmpdir(), "electriceye-pagerduty-archive-"));
    for (const fn of ["delivery-function", "sync-webhook-function"])
      await writeFunctionArchive(one(resources, fn), join(directory, fn));
    const environmentOf = (name: string) =>
      (one(resources, name).inputs.environment as { variables: Record<string, string> }).variables;
    const deployed = environmentOf("delivery-function");
    const webhookDeployed = environmentOf("sync-webhook-function");

    const pagerduty = await startPagerDutyStandIn({
      routingKeys: [ROUTING_KEY],
      serviceId: webhookDeployed.PAGERDUTY_SERVICE_ID ?? "",
    });
    const ssm = await startSsmStandIn();
    const sqs = await startSqsStandIn([DEAD_LETTER_QUEUE]);
    const dynamodb = await startDynalite([STATE_TABLE]);
    const securityHub = await startSecurityHubStandIn();
    ssm.putParameter(deployed.ROUTING_KEY_PARAMETER ?? "", ROUTING_KEY);
    ssm.putParameter(webhookDeployed.WEBHOOK_SECRET_PARAMETER ?? "", WEBHOOK_SECRET);
    try {
      const local = {
        PATH: process.env.PATH,
        // The Lambda runtime provides the AWS SDK; here it comes from the project's node_modules.
        NODE_PATH: join(ROOT, "node_modules"),
        ...awsEnvironmentFor(ssm, sqs, dynamodb, securityHub),
        STATE_TABLE,
      };
      const invoke = async (fn: string, environment: Record<string, string | undefined>, event: unknown) => {
        const eventFile = join(directory, "event.json");
        writeFileSync(eventFile, JSON.stringify(event));
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [join(__dirname, "support", "invokeArchive.cjs"), join(directory, fn), eventFile],
          { env: { ...environment, ...local } },
        );
        return JSON.parse(stdout.trim().split("\n").pop() ?? "") as unknown;
      };
      const delivery = (event: unknown) =>
        invoke(
          "delivery-function",
          {
            ...deployed,
            PAGERDUTY_EVENTS_URL: pagerduty.url,
            DEAD_LETTER_QUEUE_URL: sqs.queueUrl(DEAD_LETTER_QUEUE),
          },
          event,
        );
      const failing: Record<string, unknown> = {
        ...findingOf("electriceye-s3-public-bucket-policy.json"),
        Workflow: { Status: "NEW" },
      };
      securityHub.importFindings([failing]);
      assert.deepEqual(await delivery(sqsEvent([JSON.stringify(importedEvent([failing]))])), {
        batchItemFailures: [],
      });
      const open = pagerduty.model.openAlerts();
      assert.equal(open.length, 1);
      assert.equal(open[0]?.severity, "critical");
      const held = () =>
        securityHub.finding(String(failing.Id), String(failing.ProductArn)) as Record<
          string,
          { Status?: string; Text?: string }
        >;
      assert.equal(held().Workflow?.Status, "NOTIFIED", "written back to Security Hub");

      const alert = open[0];
      assert.ok(alert !== undefined);
      pagerduty.model.respond(alert.dedupKey, "acknowledge", { id: "PADA001", name: "Ada Lovelace" });
      const body = JSON.stringify(
        webhookPayload(pagerduty.model, alert, "incident.acknowledged", {
          id: "PADA001",
          name: "Ada Lovelace",
        }),
      );
      const request = (signature: string | undefined) => ({
        version: "2.0",
        headers: {
          "content-type": "application/json",
          ...(signature === undefined ? {} : { "x-pagerduty-signature": signature }),
        },
        body,
        isBase64Encoded: false,
        requestContext: { http: { method: "POST" } },
      });
      const webhook = (event: unknown) =>
        invoke("sync-webhook-function", webhookDeployed, event) as Promise<{ statusCode: number }>;
      assert.equal((await webhook(request(undefined))).statusCode, 401);
      assert.equal((await webhook(request(sign(body, WEBHOOK_SECRET)))).statusCode, 200);
      assert.match(String(held().Note?.Text), /^Acknowledged in PagerDuty by Ada Lovelace/);

      const passed = passedReimport(failing);
      assert.deepEqual(await delivery(sqsEvent([JSON.stringify(importedEvent([passed]))])), {
        batchItemFailures: [],
      });
      assert.deepEqual(pagerduty.model.openAlerts(), []);
      assert.ok(
        (await dynamodb.item(STATE_TABLE, deployed.PACING_ID ?? "")) !== undefined,
        "paced through the shared schedule",
      );
      assert.equal(
        ssm.calls.filter((call) => call.operation === "GetParameter").length,
        3,
        "one read per cold start that needs a secret (an unsigned request is refused before any)",
      );
    } finally {
      await Promise.all([pagerduty.close(), ssm.close(), sqs.close(), dynamodb.close(), securityHub.close()]);
    }
  });

  it("with two routes (org stack): pages the account-list route's key and the default route's, each from its own parameter, reading Organizations", async () => {
    const { resources } = await run("org");
    const directory = mkdtempSync(join(tmpdir(), "electriceye-pagerduty-archive-"));
    await writeFunctionArchive(one(resources, "delivery-function"), join(directory, "delivery-function"));
    const deployed = (
      one(resources, "delivery-function").inputs.environment as { variables: Record<string, string> }
    ).variables;
    const PLATFORM_KEY = "0123456789abcdef0123456789abcdef";
    const pagerduty = await startPagerDutyStandIn({ routingKeys: [ROUTING_KEY, PLATFORM_KEY] });
    const ssm = await startSsmStandIn();
    const sqs = await startSqsStandIn([DEAD_LETTER_QUEUE]);
    const dynamodb = await startDynalite([STATE_TABLE]);
    const securityHub = await startSecurityHubStandIn();
    // The platform route matches its accounts by ID; the payments route before it needs the account's tags.
    const organizations = await startOrganizationsStandIn({
      rootId: "r-ab12",
      units: {},
      accounts: {
        "111122223333": { tags: {}, parent: "r-ab12" },
        "123456789012": { tags: {}, parent: "r-ab12" },
      },
    });
    ssm.putParameter("electriceye-pagerduty-org", ROUTING_KEY);
    ssm.putParameter("electriceye-pagerduty-org-platform", PLATFORM_KEY);
    try {
      const eventFile = join(directory, "event.json");
      const failing = (name: string) => ({ ...findingOf(name), Workflow: { Status: "NEW" } });
      // ElectricEye's finding is of account 111122223333 (platform); Security Hub's FSBP one of 123456789012.
      const findings = [
        failing("electriceye-s3-public-bucket-policy.json"),
        failing("jira-cis-1.22-imported-new-event.json"),
      ];
      securityHub.importFindings(findings);
      writeFileSync(
        eventFile,
        JSON.stringify(sqsEvent(findings.map((finding) => JSON.stringify(importedEvent([finding]))))),
      );
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(__dirname, "support", "invokeArchive.cjs"), join(directory, "delivery-function"), eventFile],
        {
          env: {
            ...deployed,
            PATH: process.env.PATH,
            NODE_PATH: join(ROOT, "node_modules"),
            ...awsEnvironmentFor(ssm, sqs, dynamodb, securityHub),
            AWS_ENDPOINT_URL_ORGANIZATIONS: organizations.endpoint,
            STATE_TABLE,
            PAGERDUTY_EVENTS_URL: pagerduty.url,
            DEAD_LETTER_QUEUE_URL: sqs.queueUrl(DEAD_LETTER_QUEUE),
          },
        },
      );
      assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop() ?? ""), { batchItemFailures: [] });
      assert.deepEqual(
        pagerduty.model
          .openAlerts()
          .map((alert) => alert.routingKey)
          .sort(),
        [PLATFORM_KEY, ROUTING_KEY].sort(),
      );
      assert.ok(organizations.calls.some((call) => call.operation === "ListTagsForResource"));
    } finally {
      await Promise.all([
        pagerduty.close(),
        ssm.close(),
        sqs.close(),
        dynamodb.close(),
        securityHub.close(),
        organizations.close(),
      ]);
    }
  });
});
