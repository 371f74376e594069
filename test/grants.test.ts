import assert from "assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import { createHandler } from "../handler/index";
import { settingsFromEnvironment } from "../handler/settings";
import { createWebhookHandler, webhookSettingsFromEnvironment } from "../handler/sync/endpoint";
import { createJsonLogger } from "../handler/telemetry/log";
import type { PolicyDocument } from "../infra/iamPolicies";
import { startPagerDutyStandIn } from "../standins/pagerdutyServer";
import { sign, webhookPayload } from "../standins/pagerdutyWebhooks";
import { startSecurityHubStandIn } from "../standins/securityHub";
import { startSqsStandIn } from "../standins/sqs";
import { startSsmStandIn } from "../standins/ssm";
import { ACCOUNT, physicalName, type RecordedResource } from "../tools/mockEngine";
import { importedEvent, passedReimport } from "../tools/simulation/findings";
import { recordAwsRequests, type AwsRequest } from "./support/awsRequests";
import { startDynalite } from "./support/dynalite";
import { findingOf, sqsEvent } from "./support/fixtures";
import { planOf } from "./support/plans";
import {
  arnOf,
  authorizationsOf,
  decide,
  decideForService,
  HUB_V2_ID,
  type Authorization,
  type FunctionPrincipal,
  type StackFacts,
} from "./support/iamAuthorization";
import { ROUTING_KEY, WEBHOOK_SECRET, awsEnvironmentFor, remaining } from "./support/world";

// Every grant proven: each function's role policy, as the offline plan of the real program declares it, evaluated
// against every AWS request its code made in real runs against the stand-ins (and the requests Lambda makes with the
// role on its behalf), each of which must be allowed; and against what it must never do, each of which must not.

const REGION = "us-east-1";
const OTHER_REGION = "us-west-2";
const OTHER_ACCOUNT = "444455556666";
const CUSTOMER_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
// The AWS managed key aws/ssm of the account and Region: a key id AWS chose.
const AWS_SSM_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
const KEY_POLICIES = JSON.parse(
  readFileSync(join(__dirname, "fixtures", "iam", "key-policies.json"), "utf8"),
) as { awsManagedSsm: PolicyDocument; customerDefault: PolicyDocument };
/** A key's policy, for a key of `keyArn`'s account and Region. */
const keyPolicy = (kind: keyof typeof KEY_POLICIES, keyArn: string): PolicyDocument => {
  const [, , , region = "", account = ""] = keyArn.split(":");
  return JSON.parse(
    JSON.stringify(KEY_POLICIES[kind]).replaceAll("${Account}", account).replaceAll("${Region}", region),
  ) as PolicyDocument;
};

// The shipped stacks (prod syncs with Security Hub, dev does not), each with the aws/ssm key and with a customer
// managed key; the plans are those the program's own tests read (dev with a customer key also pages in the EU).
const CONFIGURATIONS: { name: string; stack: string; overrides: Record<string, string> }[] = [
  { name: "prod: the sync on, the aws/ssm key", stack: "prod", overrides: {} },
  {
    name: "prod: the sync on, a customer managed key",
    stack: "prod",
    overrides: { kmsKeyArn: CUSTOMER_KEY },
  },
  { name: "dev: the sync off, the aws/ssm key", stack: "dev", overrides: {} },
  {
    name: "dev: the sync off, a customer managed key",
    stack: "dev",
    overrides: { kmsKeyArn: CUSTOMER_KEY, pagerdutyRegion: "eu" },
  },
];
// Every product pages in these runs, so that both write-back calls (ASFF and OCSF) are made whatever the stack's
// filter: the filter decides which findings page, never which AWS resources are called. The send schedule is
// kept, only faster.
const RUN_ENVIRONMENT = { PAGE_PRODUCTS: "[]", PAGERDUTY_EVENTS_PER_MINUTE: "60000" };

interface FunctionPlan {
  policy: PolicyDocument;
  principal: FunctionPrincipal;
  environment: Record<string, string>;
  logGroupArn: string;
  /** The queues Lambda polls for the function with its role. */
  eventSourceArns: string[];
}

interface Plan {
  resources: RecordedResource[];
  delivery: FunctionPlan;
  webhook: FunctionPlan | undefined;
  facts: StackFacts;
  queueArns: string[];
  deadLetterQueueArn: string;
  stateTableArn: string;
  routingKeyParameterArn: string;
  /** Undefined without the sync's webhook. */
  webhookSecretParameterArn: string | undefined;
}

function named(resources: RecordedResource[], name: string): RecordedResource | undefined {
  return resources.find((resource) => resource.name === name);
}

function functionPlan(resources: RecordedResource[], prefix: string): FunctionPlan | undefined {
  const fn = named(resources, `${prefix}-function`);
  if (fn === undefined) return undefined;
  const role = named(resources, `${prefix}-role`);
  const policy = named(resources, `${prefix}-role-policy`);
  const logs = named(resources, `${prefix}-logs`);
  assert.ok(role && policy && logs, `${prefix}: the function's role, role policy and log group`);
  const functionName = physicalName(fn);
  const functionArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`;
  return {
    policy: JSON.parse(String(policy.inputs.policy)) as PolicyDocument,
    principal: {
      account: ACCOUNT,
      region: REGION,
      roleName: physicalName(role),
      roleArn: `arn:aws:iam::${ACCOUNT}:role/${physicalName(role)}`,
      functionName,
      functionArn,
    },
    environment: (fn.inputs.environment as { variables: Record<string, string> }).variables,
    logGroupArn: arnOf("logs", REGION, ACCOUNT, `log-group:${physicalName(logs)}`),
    eventSourceArns: resources
      .filter(
        (resource) =>
          resource.type === "aws:lambda/eventSourceMapping:EventSourceMapping" &&
          resource.inputs.functionName === functionArn,
      )
      .map((mapping) => String(mapping.inputs.eventSourceArn)),
  };
}

const queueArnOfUrl = (url: string) => {
  const [, account, name] = new URL(url).pathname.split("/");
  return arnOf("sqs", REGION, account ?? "", name ?? "");
};

async function readPlan(stack: string, overrides: Record<string, string>): Promise<Plan> {
  const { resources } = await planOf(stack, overrides);
  const ofType = (type: string) => resources.filter((resource) => resource.type === type);
  const queueArn = (resource: RecordedResource) => arnOf("sqs", REGION, ACCOUNT, physicalName(resource));
  const parameterArn = (parameter: RecordedResource) =>
    arnOf("ssm", REGION, ACCOUNT, `parameter/${physicalName(parameter).replace(/^\//, "")}`);
  const parameters = new Map(
    ofType("aws:ssm/parameter:Parameter").map((parameter) => [parameterArn(parameter), parameter]),
  );
  const queuePolicies = new Map(
    ofType("aws:sqs/queuePolicy:QueuePolicy").map((queuePolicy) => [
      queueArnOfUrl(String(queuePolicy.inputs.queueUrl)),
      JSON.parse(String(queuePolicy.inputs.policy)) as PolicyDocument,
    ]),
  );
  const delivery = functionPlan(resources, "delivery");
  assert.ok(delivery !== undefined);
  const state = named(resources, "delivery-state");
  const deadLetters = named(resources, "delivery-dead-letters");
  const routingKey = named(resources, "delivery-routing-key");
  const webhookSecret = named(resources, "sync-webhook-secret");
  assert.ok(state && deadLetters && routingKey);
  return {
    resources,
    delivery,
    webhook: functionPlan(resources, "sync-webhook"),
    facts: {
      account: ACCOUNT,
      keyOfParameter(parameterArn) {
        const parameter = parameters.get(parameterArn);
        if (parameter === undefined) throw new Error(`${parameterArn} is not a parameter of the stack`);
        assert.equal(parameter.inputs.type, "SecureString");
        const keyId = parameter.inputs.keyId;
        return keyId === undefined
          ? { keyArn: AWS_SSM_KEY, keyPolicy: keyPolicy("awsManagedSsm", AWS_SSM_KEY) }
          : { keyArn: String(keyId), keyPolicy: keyPolicy("customerDefault", String(keyId)) };
      },
      queuePolicy: (arn) => queuePolicies.get(arn),
    },
    queueArns: ofType("aws:sqs/queue:Queue").map(queueArn),
    deadLetterQueueArn: queueArn(deadLetters),
    stateTableArn: arnOf("dynamodb", REGION, ACCOUNT, `table/${physicalName(state)}`),
    routingKeyParameterArn: parameterArn(routingKey),
    webhookSecretParameterArn: webhookSecret === undefined ? undefined : parameterArn(webhookSecret),
  };
}

/** What Lambda does with the function's role, not the function's code: its logs, and polling its queues. */
function platformAuthorizations(fn: FunctionPlan): Authorization[] {
  const stream = `${fn.logGroupArn}:log-stream:2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef`;
  return [
    ...["logs:CreateLogStream", "logs:PutLogEvents"].map((action) => ({
      action,
      resource: stream,
      context: {},
      call: `${action} (the Lambda runtime writes the function's logs)`,
    })),
    // Lambda's SQS event source mapping needs these three on each queue (Lambda Developer Guide, SQS).
    ...fn.eventSourceArns.flatMap((queue) =>
      ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"].map((action) => ({
        action,
        resource: queue,
        context: {},
        call: `${action} (Lambda polls the queue for the function)`,
      })),
    ),
  ];
}

const OCSF_DIR = join(__dirname, "fixtures", "ocsf");
const ocsfFinding = (name: string) =>
  JSON.parse(readFileSync(join(OCSF_DIR, name), "utf8")) as Record<string, unknown>;
const ADA = { id: "PADA001", name: "Ada Lovelace" };

interface Recorded {
  delivery: AwsRequest[];
  webhook: AwsRequest[];
}

/**
 * Runs both functions as deployed (the plan's environment), their AWS clients against the stand-ins: an ASFF and an
 * OCSF finding page and are written back, a responder acknowledges both (webhook), a record the function cannot
 * read is dead-lettered, and the ASFF finding's PASSED re-import resolves its alert.
 */
async function runFunctions(plan: Plan): Promise<Recorded> {
  const deliveryEnv = plan.delivery.environment;
  const webhookEnv = plan.webhook?.environment;
  const pagerduty = await startPagerDutyStandIn({
    routingKeys: [ROUTING_KEY],
    ...(webhookEnv === undefined ? {} : { serviceId: webhookEnv.PAGERDUTY_SERVICE_ID }),
  });
  const ssm = await startSsmStandIn();
  const deadLetterQueue = plan.deadLetterQueueArn.split(":").pop() ?? "";
  const sqs = await startSqsStandIn([deadLetterQueue]);
  const dynamodb = await startDynalite([String(deliveryEnv.STATE_TABLE)]);
  const securityHub = await startSecurityHubStandIn();
  ssm.putParameter(String(deliveryEnv.ROUTING_KEY_PARAMETER), ROUTING_KEY);
  if (webhookEnv !== undefined) ssm.putParameter(String(webhookEnv.WEBHOOK_SECRET_PARAMETER), WEBHOOK_SECRET);
  const aws = awsEnvironmentFor(ssm, sqs, dynamodb, securityHub);
  const saved = Object.fromEntries(Object.keys(aws).map((name) => [name, process.env[name]]));
  Object.assign(process.env, aws);
  const quiet = { log: createJsonLogger(() => undefined), writeMetrics: () => undefined };
  try {
    const delivery = createHandler(
      settingsFromEnvironment({
        ...deliveryEnv,
        ...RUN_ENVIRONMENT,
        PAGERDUTY_EVENTS_URL: pagerduty.url,
        DEAD_LETTER_QUEUE_URL: sqs.queueUrl(deadLetterQueue),
      }),
      quiet,
    );
    const deliver = async (bodies: string[]) => {
      const response = (await delivery(sqsEvent(bodies), remaining(30_000))) as {
        batchItemFailures: unknown[];
      };
      assert.deepEqual(response.batchItemFailures, []);
    };
    const [asff] = securityHub.importFindings([
      { ...findingOf("electriceye-s3-public-bucket-policy.json"), Workflow: { Status: "NEW" } },
    ]);
    const [ocsf] = securityHub.importFindingsV2([
      ocsfFinding("securityhub-v2-exposure-finding-lambda-critical-new.json"),
    ]);
    assert.ok(asff && ocsf);
    const recorded: Recorded = { delivery: [], webhook: [] };
    recorded.delivery.push(
      ...(await recordAwsRequests(async () => {
        await deliver([JSON.stringify(importedEvent([asff])), JSON.stringify(importedEvent([ocsf]))]);
      })),
    );
    assert.equal(pagerduty.model.openAlerts().length, 2, "both findings paged");
    if (webhookEnv !== undefined) {
      const webhook = createWebhookHandler(webhookSettingsFromEnvironment(webhookEnv), quiet);
      recorded.webhook = await recordAwsRequests(async () => {
        for (const alert of pagerduty.model.openAlerts()) {
          pagerduty.model.respond(alert.dedupKey, "acknowledge", ADA);
          const body = JSON.stringify(webhookPayload(pagerduty.model, alert, "incident.acknowledged", ADA));
          const answer = await webhook({
            headers: {
              "content-type": "application/json",
              "x-pagerduty-signature": sign(body, WEBHOOK_SECRET),
            },
            body,
            isBase64Encoded: false,
            requestContext: { http: { method: "POST" } },
          });
          assert.equal(answer.statusCode, 200, answer.body);
        }
      });
      assert.equal(securityHub.updates.length, 4, "two pages and two acknowledgements written back");
    }
    recorded.delivery.push(
      ...(await recordAwsRequests(async () => {
        await deliver(["a record that is no event"]);
        await deliver([JSON.stringify(importedEvent([passedReimport(asff)]))]);
      })),
    );
    assert.equal(sqs.messages(deadLetterQueue).length, 1, "the unreadable record was dead-lettered");
    assert.equal(pagerduty.model.openAlerts().length, 1, "the PASSED re-import resolved its alert");
    return recorded;
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
    await Promise.all([pagerduty.close(), ssm.close(), sqs.close(), dynamodb.close(), securityHub.close()]);
  }
}

/** Variants of an allowed authorization that must not be: the same call in another Region, account, or resource. */
function neighbours(authorization: Authorization): Authorization[] {
  // Decrypting with aws/ssm happens only inside an SSM call, whose own neighbours are refused first.
  if (authorization.resource === AWS_SSM_KEY) return [];
  const parts = authorization.resource.split(":");
  const [, , service = "", region = "", account = ""] = parts;
  const withPart = (index: number, value: string) =>
    parts.map((part, at) => (at === index ? value : part)).join(":");
  const renamed = authorization.resource
    .replace(/(:parameter\/[^:]+)$/, "$1-other")
    .replace(/(:table\/[^/:]+)$/, "$1-other")
    .replace(/(:log-group:[^:]+)(:log-stream:)/, "$1-other$2")
    .replace(/(:key\/)[0-9a-f-]+$/, "$1ffffffff-ffff-4fff-8fff-ffffffffffff")
    .replace(new RegExp(`^(arn:aws:sqs:[^:]+:[^:]+:[^:]+)$`), "$1-other");
  const variants: [string, string][] = [
    [withPart(3, OTHER_REGION), `in ${OTHER_REGION}`],
    [withPart(4, OTHER_ACCOUNT), `in account ${OTHER_ACCOUNT}`],
  ];
  if (renamed !== authorization.resource) variants.push([renamed, "on another resource"]);
  return variants
    .filter(
      ([resource]) =>
        resource !== authorization.resource && service !== "" && region !== "" && account !== "",
    )
    .map(([resource, where]) => ({
      ...authorization,
      resource,
      ...(authorization.action.startsWith("kms:")
        ? { resourcePolicy: keyPolicy("customerDefault", resource) }
        : {}),
      // What SSM would say when decrypting for a parameter elsewhere.
      context: Object.fromEntries(
        Object.entries(authorization.context).map(([key, value]) => [
          key,
          key === "kms:ViaService" ? value.replace(region, resource.split(":")[3] ?? region) : value,
        ]),
      ),
      call: `${authorization.call}, ${where}`,
    }));
}

/** Calls neither function may make, on the stack's own resources. */
function forbidden(plan: Plan, fn: FunctionPlan): Authorization[] {
  const own = (action: string, resource: string, context: Record<string, string> = {}) => ({
    action,
    resource,
    context,
    call: `${action} on ${resource}`,
  });
  const hub = arnOf("securityhub", REGION, ACCOUNT, "hub/default");
  const keys = [
    [CUSTOMER_KEY, keyPolicy("customerDefault", CUSTOMER_KEY)],
    [AWS_SSM_KEY, keyPolicy("awsManagedSsm", AWS_SSM_KEY)],
  ] as const;
  const parameters = [plan.routingKeyParameterArn, plan.webhookSecretParameterArn].filter(
    (parameter): parameter is string => parameter !== undefined,
  );
  return [
    ...[
      "Scan",
      "Query",
      "DeleteTable",
      "DeleteItem",
      "UpdateTable",
      "BatchWriteItem",
      "ExportTableToPointInTime",
    ].map((operation) => own(`dynamodb:${operation}`, plan.stateTableArn)),
    own(
      "securityhub:BatchImportFindings",
      arnOf("securityhub", REGION, ACCOUNT, `product/${ACCOUNT}/default`),
    ),
    own("securityhub:GetFindings", hub),
    own("securityhub:UpdateFindings", hub),
    own("securityhub:DisableSecurityHub", hub),
    own("securityhub:BatchUpdateFindings", arnOf("securityhub", OTHER_REGION, ACCOUNT, `hubv2/${HUB_V2_ID}`)),
    own("securityhub:BatchUpdateFindings", arnOf("securityhub", REGION, OTHER_ACCOUNT, "hub/default")),
    ...plan.queueArns.flatMap((queue) => [
      ...(queue === plan.deadLetterQueueArn && fn === plan.delivery ? [] : [own("sqs:SendMessage", queue)]),
      ...(fn.eventSourceArns.includes(queue) ? [] : [own("sqs:ReceiveMessage", queue)]),
      own("sqs:PurgeQueue", queue),
      own("sqs:DeleteQueue", queue),
      own("sqs:SetQueueAttributes", queue),
    ]),
    ...parameters.flatMap((parameter) => [
      own("ssm:PutParameter", parameter),
      own("ssm:DeleteParameter", parameter),
      own("ssm:GetParameterHistory", parameter),
    ]),
    // Decrypting directly, or through another service than SSM.
    ...keys.flatMap(([key, resourcePolicy]) =>
      [
        own("kms:Decrypt", key, { "kms:CallerAccount": ACCOUNT }),
        own("kms:Decrypt", key, {
          "kms:CallerAccount": ACCOUNT,
          "kms:ViaService": `s3.${REGION}.amazonaws.com`,
        }),
        own("kms:Encrypt", key, { "kms:CallerAccount": ACCOUNT }),
      ].map((authorization) => ({ ...authorization, resourcePolicy })),
    ),
    own("logs:DeleteLogGroup", fn.logGroupArn),
    own(
      "logs:PutLogEvents",
      `${fn.logGroupArn.replace(/:log-group:.*/, ":log-group:/aws/lambda/another-function")}:log-stream:x`,
    ),
  ];
}

const key = (authorization: Authorization) =>
  `${authorization.action} ${authorization.resource} ${JSON.stringify(authorization.context)}`;
const distinct = (authorizations: Authorization[]) => [
  ...new Map(authorizations.map((authorization) => [key(authorization), authorization])).values(),
];

async function decisions(fn: FunctionPlan, authorizations: Authorization[]): Promise<string[]> {
  return Promise.all(
    authorizations.map(
      async (authorization) =>
        `${await decide(fn.policy, fn.principal, authorization)}: ${authorization.call} (${authorization.action} on ${authorization.resource})`,
    ),
  );
}

describe("every grant proven: each function's role policy from the plan, against what its code does", () => {
  for (const configuration of CONFIGURATIONS) {
    describe(configuration.name, () => {
      let plan: Plan;
      let recorded: Recorded;
      before(async () => {
        plan = await readPlan(configuration.stack, configuration.overrides);
        recorded = await runFunctions(plan);
      });

      const functions = () =>
        [
          ["delivery", plan.delivery, recorded.delivery],
          ...(plan.webhook === undefined ? [] : [["webhook", plan.webhook, recorded.webhook] as const]),
        ] as const;

      it("allows every AWS request the functions made, and what Lambda does with their roles", async () => {
        const sync = plan.webhook !== undefined;
        const operations = new Set(
          recorded.delivery.map((request) => `${request.service}:${request.operation}`),
        );
        for (const expected of [
          "ssm:GetParameter",
          "dynamodb:GetItem",
          "dynamodb:BatchGetItem",
          "dynamodb:PutItem",
          "sqs:SendMessage",
        ])
          assert.ok(operations.has(expected), `the delivery run made ${expected}`);
        assert.equal(operations.has("securityhub:BatchUpdateFindingsV2"), sync, "the OCSF write-back ran");
        assert.equal(operations.has("securityhub:BatchUpdateFindings"), sync, "the ASFF write-back ran");
        for (const [name, fn, requests] of functions()) {
          const authorizations = distinct([
            ...requests.flatMap((request) => authorizationsOf(request, plan.facts)),
            ...platformAuthorizations(fn),
          ]);
          const refused = (await decisions(fn, authorizations)).filter((line) => !line.startsWith("Allowed"));
          assert.deepEqual(refused, [], `${name}: every call it makes is allowed`);
        }
      });

      it("refuses each such request in another Region, another account or on another resource", async () => {
        for (const [name, fn, requests] of functions()) {
          const authorizations = distinct([
            ...requests.flatMap((request) => authorizationsOf(request, plan.facts)),
            ...platformAuthorizations(fn),
          ]).flatMap(neighbours);
          assert.ok(authorizations.length > 10);
          const allowed = (await decisions(fn, authorizations)).filter((line) => line.startsWith("Allowed"));
          assert.deepEqual(allowed, [], `${name}: nothing beyond its own resources`);
        }
      });

      it("refuses what neither function may ever do: import findings, read or change other data, decrypt directly", async () => {
        for (const [name, fn] of functions()) {
          const allowed = (await decisions(fn, forbidden(plan, fn))).filter((line) =>
            line.startsWith("Allowed"),
          );
          assert.deepEqual(allowed, [], `${name}: refused`);
        }
        const read = (resource: string | undefined, call: string) =>
          resource === undefined ? [] : [{ action: "ssm:GetParameter", resource, context: {}, call }];
        const crossings = [
          [plan.delivery, read(plan.webhookSecretParameterArn, "the webhook's signing secret")],
          ...(plan.webhook === undefined
            ? []
            : [[plan.webhook, read(plan.routingKeyParameterArn, "the routing key")] as const]),
        ] as const;
        for (const [fn, authorizations] of crossings) {
          const allowed = (await decisions(fn, authorizations)).filter((line) => line.startsWith("Allowed"));
          assert.deepEqual(allowed, [], "each function reads only its own secret");
        }
      });

      it("admits into each queue only the EventBridge rules that deliver to it, by aws:SourceArn", async () => {
        const targets = plan.resources.filter(
          (resource) => resource.type === "aws:cloudwatch/eventTarget:EventTarget",
        );
        const ruleArn = (name: unknown) => arnOf("events", REGION, ACCOUNT, `rule/${String(name)}`);
        const rules = [...targets.map((target) => ruleArn(target.inputs.rule)), ruleArn("another-rule")];
        for (const queue of plan.queueArns) {
          const queuePolicy = plan.facts.queuePolicy(queue);
          if (queue === plan.deadLetterQueueArn)
            assert.equal(queuePolicy, undefined, "only the function sends here");
          if (queuePolicy === undefined) continue;
          const delivering = targets
            .filter(
              (target) =>
                target.inputs.arn === queue ||
                (target.inputs.deadLetterConfig as { arn?: string } | undefined)?.arn === queue,
            )
            .map((target) => ruleArn(target.inputs.rule));
          assert.ok(delivering.length > 0, `${queue} is delivered to`);
          for (const rule of rules) {
            const decision = await decideForService("events.amazonaws.com", {
              action: "sqs:SendMessage",
              resource: queue,
              context: { "aws:SourceArn": rule, "aws:SourceAccount": ACCOUNT },
              resourcePolicy: queuePolicy,
              call: `EventBridge delivering for ${rule}`,
            });
            assert.equal(
              decision,
              delivering.includes(rule) ? "Allowed" : "ImplicitlyDenied",
              `${rule} into ${queue}`,
            );
          }
        }
      });

      it("grants nothing that no call uses", async () => {
        for (const [name, fn, requests] of functions()) {
          const used = new Set(
            [
              ...requests.flatMap((request) => authorizationsOf(request, plan.facts)),
              ...platformAuthorizations(fn),
            ].map((authorization) => authorization.action),
          );
          const granted = fn.policy.Statement.flatMap((statement) => [statement.Action].flat());
          assert.deepEqual(
            granted.filter((action) => !used.has(action)),
            // The handler does not yet shorten a handed-back record's visibility; the grant is for that.
            name === "delivery" ? ["sqs:ChangeMessageVisibility"] : [],
            `${name}: every granted action serves a call`,
          );
        }
      });
    });
  }
});

describe("the IAM evaluator, on the rules of AWS's policy evaluation the grants test relies on", () => {
  const principal: FunctionPrincipal = {
    account: ACCOUNT,
    region: REGION,
    roleName: "role",
    roleArn: `arn:aws:iam::${ACCOUNT}:role/role`,
    functionName: "fn",
    functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:fn`,
  };
  const policy = (...Statement: PolicyDocument["Statement"]): PolicyDocument => ({
    Version: "2012-10-17",
    Statement,
  });
  const request = (action: string, resource: string, context: Record<string, string> = {}) => ({
    action,
    resource,
    context,
    call: action,
  });
  const table = arnOf("dynamodb", REGION, ACCOUNT, "table/state");
  const hubs = policy({
    Effect: "Allow",
    Action: "securityhub:BatchUpdateFindings",
    Resource: arnOf("securityhub", REGION, ACCOUNT, "hubv2/*"),
  });

  it("allows only what a statement names; a wildcard stays within the ARN's other parts", async () => {
    const onTable = policy({ Effect: "Allow", Action: "dynamodb:GetItem", Resource: table });
    assert.equal(await decide(onTable, principal, request("dynamodb:GetItem", table)), "Allowed");
    assert.equal(await decide(onTable, principal, request("dynamodb:PutItem", table)), "ImplicitlyDenied");
    assert.equal(
      await decide(
        hubs,
        principal,
        request("securityhub:BatchUpdateFindings", `${hubs.Statement[0]?.Resource}`.replace("*", HUB_V2_ID)),
      ),
      "Allowed",
    );
    for (const other of [
      arnOf("securityhub", REGION, ACCOUNT, "hub/default"),
      arnOf("securityhub", OTHER_REGION, ACCOUNT, `hubv2/${HUB_V2_ID}`),
    ])
      assert.equal(
        await decide(hubs, principal, request("securityhub:BatchUpdateFindings", other)),
        "ImplicitlyDenied",
      );
  });

  it("lets an explicit Deny win over any Allow", async () => {
    const denied = policy(
      { Effect: "Allow", Action: "dynamodb:*", Resource: table },
      { Effect: "Deny", Action: "dynamodb:DeleteTable", Resource: "*" },
    );
    assert.equal(await decide(denied, principal, request("dynamodb:DeleteTable", table)), "ExplicitlyDenied");
    assert.equal(await decide(denied, principal, request("dynamodb:Scan", table)), "Allowed");
  });

  it("does not match a condition on a key the request lacks, and opens a KMS key only when its key policy lets IAM", async () => {
    const viaSsm = policy({
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: CUSTOMER_KEY,
      Condition: { StringEquals: { "kms:ViaService": `ssm.${REGION}.amazonaws.com` } },
    });
    const decrypt = (context: Record<string, string>, kind: keyof typeof KEY_POLICIES | undefined) => ({
      ...request("kms:Decrypt", CUSTOMER_KEY, context),
      ...(kind === undefined ? {} : { resourcePolicy: keyPolicy(kind, CUSTOMER_KEY) }),
    });
    const throughSsm = { "kms:ViaService": `ssm.${REGION}.amazonaws.com` };
    assert.equal(await decide(viaSsm, principal, decrypt(throughSsm, "customerDefault")), "Allowed");
    assert.equal(await decide(viaSsm, principal, decrypt({}, "customerDefault")), "ImplicitlyDenied");
    // A key policy that does not enable IAM policies (here: none) leaves the identity policy without effect.
    assert.equal(await decide(viaSsm, principal, decrypt(throughSsm, undefined)), "ImplicitlyDenied");
  });

  it("refuses to evaluate an action AWS does not define, or an ARN that is no resource of the action", async () => {
    await assert.rejects(
      decide(
        hubs,
        principal,
        request(
          "securityhub:BatchUpdateFindingsV2",
          arnOf("securityhub", REGION, ACCOUNT, `hubv2/${HUB_V2_ID}`),
        ),
      ),
      /cannot be evaluated/,
    );
    await assert.rejects(
      decide(
        hubs,
        principal,
        request("logs:CreateLogStream", arnOf("logs", REGION, ACCOUNT, "log-group:/aws/lambda/fn")),
      ),
      /cannot be evaluated/,
    );
  });
});
