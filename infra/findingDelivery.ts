import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type {
  AlertStateConfig,
  OrganizationsConfig,
  PagerDutyRegion,
  SyncConfig,
  UrgencyConfig,
} from "../config";
import { integrationParameterNames, type AccountScope, type RouteMatch } from "../handler/finding/routes";
import type { SupportHours } from "../handler/finding/urgency";
import type { Grouping } from "../handler/finding/control";
import { StackBaseline, backlogUntil } from "./baseline";
import type { FindingFilter } from "../handler/finding/filter";
import { createHandler, settingsFromEnvironment, settingsToEnvironment } from "../handler/index";
import { lanesOf, type Lane, type RulePlan } from "./eventPatterns";
import { functionPolicy, queuePolicy } from "./iamPolicies";
import { functionLogsAndRole, functionRuntime, lambdaFunctionName } from "./lambda";
import { functionSettings, mappingOf, type DeliveryPlan } from "./tuning";

export interface FindingDeliveryArgs {
  stack: string;
  /** The PagerDuty routing keys, one per integration; stored in SSM, never in the function's environment. */
  routingKeys: pulumi.Input<string>[];
  /** The first key's parameter; the others' are named after it (integrationParameterNames). */
  parameterName: string;
  kmsKeyArn: string | undefined;
  pagerDutyRegion: PagerDutyRegion;
  filter: FindingFilter;
  alertState: AlertStateConfig;
  sync: SyncConfig;
  urgency: UrgencyConfig;
  /** One alert per finding, or per failing control. */
  grouping: Grouping;
  /** The account's Security Hub (both its hubs), which pages are written back to; undefined without the sync. */
  securityHubArns: pulumi.Output<string[]> | undefined;
  rules: RulePlan[];
  plan: DeliveryPlan;
  memorySizeMb: number;
  logRetentionDays: number;
  /** The routes before the default one (whose keys are `routingKeys`, from `parameterName`), in order. */
  routes: DeliveryRoute[];
  accountScope: AccountScope;
  organizations: OrganizationsConfig | undefined;
  /** Losing the table would page again for what responders resolved: protected unless turned off. */
  protectState: boolean;
}

/** A route as the delivery side deploys it: its key in its own parameter, and what the function must know of it. */
export interface DeliveryRoute {
  name: string;
  match: RouteMatch;
  parameterName: string;
  /** One per integration of the route's service. */
  routingKeys: pulumi.Input<string>[];
  serviceName: string;
  /** Undefined: always. */
  supportHours: SupportHours | undefined;
}

/**
 * The AWS side: the routing key in an SSM SecureString, EventBridge rules into encrypted queues (one per lane),
 * dead-letter queues, the delivery state (send schedule, alert state), and the function with a least-privilege
 * role.
 */
export class FindingDelivery extends pulumi.ComponentResource {
  readonly parameterName: pulumi.Output<string>;
  readonly queueUrls: pulumi.Output<Record<string, string>>;
  readonly queueArns: pulumi.Output<Record<string, string>>;
  readonly deadLetterQueueUrl: pulumi.Output<string>;
  readonly deadLetterQueueArn: pulumi.Output<string>;
  readonly ruleDeadLetterQueueUrl: pulumi.Output<string>;
  readonly ruleDeadLetterQueueArn: pulumi.Output<string>;
  readonly ruleNames: pulumi.Output<string[]>;
  readonly functionName: pulumi.Output<string>;
  readonly stateTableName: pulumi.Output<string>;
  readonly stateTableArn: pulumi.Output<string>;
  /** Each lane's queue name, for the dashboard and the alarms. */
  readonly queueNames: pulumi.Output<Record<string, string>>;
  readonly deadLetterQueueName: pulumi.Output<string>;
  readonly ruleDeadLetterQueueName: pulumi.Output<string>;

  constructor(name: string, args: FindingDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    // The args hold the routing key, so they are not handed to super().
    super("electriceye-pagerduty:aws:FindingDelivery", name, {}, opts);
    const child = { parent: this };
    const { plan } = args;
    const region = aws.getRegionOutput({}, child).region;

    const routingKeyParameter = (
      resourceName: string,
      parameterName: string,
      routingKey: pulumi.Input<string>,
      what: string,
    ) =>
      new aws.ssm.Parameter(
        resourceName,
        {
          name: parameterName,
          description: `PagerDuty Events API v2 routing key for Security Hub findings${what} (electriceye-pagerduty)`,
          type: "SecureString",
          value: pulumi.secret(routingKey),
          ...(args.kmsKeyArn === undefined ? {} : { keyId: args.kmsKeyArn }),
        },
        child,
      );
    // One parameter per integration; the first keeps the name it always had.
    const keyParameters = (
      resourceName: string,
      parameterName: string,
      routingKeys: pulumi.Input<string>[],
      what: string,
    ) => {
      const names = integrationParameterNames(parameterName, routingKeys.length);
      return routingKeys.map((routingKey, index) =>
        routingKeyParameter(
          index === 0 ? resourceName : `${resourceName}-${index + 1}`,
          names[index] ?? parameterName,
          routingKey,
          `${what}${index === 0 ? "" : `, integration ${index + 1}`}`,
        ),
      );
    };
    const [parameter, ...extraParameters] = keyParameters(
      `${name}-routing-key`,
      args.parameterName,
      args.routingKeys,
      "",
    );
    if (parameter === undefined) throw new Error("the stack's PagerDuty side gave no routing key");
    const routeParameters = [
      ...extraParameters,
      ...args.routes.flatMap((route) =>
        keyParameters(
          `${name}-${route.name}-routing-key`,
          route.parameterName,
          route.routingKeys,
          `, route ${route.name}`,
        ),
      ),
    ];

    const deadLetters = new aws.sqs.Queue(
      `${name}-dead-letters`,
      { sqsManagedSseEnabled: true, messageRetentionSeconds: plan.deadLetterRetentionSeconds },
      child,
    );
    const ruleDeadLetters = new aws.sqs.Queue(
      `${name}-rule-dead-letters`,
      { sqsManagedSseEnabled: true, messageRetentionSeconds: plan.deadLetterRetentionSeconds },
      child,
    );
    const lanes = lanesOf(args.rules);
    const queues = new Map<Lane, aws.sqs.Queue>(
      lanes.map((lane) => [
        lane,
        new aws.sqs.Queue(
          `${name}-${lane}-queue`,
          {
            sqsManagedSseEnabled: true,
            visibilityTimeoutSeconds: plan.visibilityTimeoutSeconds,
            messageRetentionSeconds: plan.laneRetentionSeconds,
            redrivePolicy: deadLetters.arn.apply((arn) =>
              JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: plan.maxReceiveCount }),
            ),
          },
          child,
        ),
      ]),
    );
    const laneQueue = (lane: Lane): aws.sqs.Queue => {
      const queue = queues.get(lane);
      if (queue === undefined) throw new Error(`no queue for lane ${lane}`);
      return queue;
    };

    const rules = args.rules.map((rule) => {
      const eventRule = new aws.cloudwatch.EventRule(
        `${name}-${rule.name}-rule`,
        { description: rule.description, eventPattern: JSON.stringify(rule.pattern) },
        child,
      );
      new aws.cloudwatch.EventTarget(
        `${name}-${rule.name}-target`,
        {
          rule: eventRule.name,
          arn: laneQueue(rule.lane).arn,
          deadLetterConfig: { arn: ruleDeadLetters.arn },
          retryPolicy: {
            maximumEventAgeInSeconds: plan.ruleTargetMaximumEventAgeSeconds,
            maximumRetryAttempts: plan.ruleTargetMaximumRetryAttempts,
          },
        },
        child,
      );
      return { plan: rule, resource: eventRule };
    });
    const admit = (queueName: string, queue: aws.sqs.Queue, admitted: aws.cloudwatch.EventRule[]) =>
      new aws.sqs.QueuePolicy(
        `${name}-${queueName}-policy`,
        {
          queueUrl: queue.url,
          policy: pulumi
            .all([queue.arn, pulumi.all(admitted.map((rule) => rule.arn))])
            .apply(([arn, ruleArns]) => JSON.stringify(queuePolicy(arn, ruleArns))),
        },
        child,
      );
    for (const lane of lanes) {
      admit(
        `${lane}-queue`,
        laneQueue(lane),
        rules.filter((rule) => rule.plan.lane === lane).map((rule) => rule.resource),
      );
    }
    admit(
      "rule-dead-letters",
      ruleDeadLetters,
      rules.map((rule) => rule.resource),
    );

    const state = new aws.dynamodb.Table(
      `${name}-state`,
      {
        billingMode: "PAY_PER_REQUEST",
        hashKey: "id",
        attributes: [{ name: "id", type: "S" }],
        serverSideEncryption: { enabled: true },
        // Remembered resolutions expire by themselves; the send schedule's item carries no expiry.
        ttl: { attributeName: "expiresAt", enabled: true },
      },
      { ...child, protect: args.protectState },
    );

    const functionName = lambdaFunctionName(`electriceye-pagerduty-${args.stack}`);
    const { logGroup, role } = functionLogsAndRole(
      name,
      {
        functionName,
        logRetentionDays: args.logRetentionDays,
        roleDescription:
          "electriceye-pagerduty function: read the routing key, consume its queues, write its logs",
      },
      child,
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: role.id,
        policy: pulumi
          .all([
            region,
            logGroup.arn,
            pulumi.all([parameter.arn, ...routeParameters.map((routeParameter) => routeParameter.arn)]),
            deadLetters.arn,
            state.arn,
            pulumi.all(lanes.map((lane) => laneQueue(lane).arn)),
            args.securityHubArns,
          ])
          .apply(
            ([
              regionName,
              logGroupArn,
              parameterArns,
              deadLetterQueueArn,
              stateTableArn,
              laneQueueArns,
              securityHubArns,
            ]) =>
              JSON.stringify(
                functionPolicy({
                  region: regionName,
                  logGroupArn,
                  parameterArns,
                  kmsKeyArn: args.kmsKeyArn,
                  laneQueueArns,
                  deadLetterQueueArn,
                  stateTableArn,
                  securityHubArns,
                  organizations: args.organizations,
                }),
              ),
          ),
      },
      child,
    );

    const hours = args.urgency.backlogBaselineHours;
    const deployedAt =
      hours === 0
        ? pulumi.output(undefined)
        : new StackBaseline(`${name}-baseline`, { baselineHours: hours }, child).deployedAt;
    const environment = pulumi
      .all([deadLetters.url, state.name, deployedAt])
      .apply(([deadLetterQueueUrl, stateTable, deployed]) =>
        settingsToEnvironment(
          functionSettings({
            stack: args.stack,
            parameterName: args.parameterName,
            integrations: args.routingKeys.length,
            pagerDutyRegion: args.pagerDutyRegion,
            filter: args.filter,
            plan,
            deadLetterQueueUrl,
            stateTable,
            alertState: args.alertState,
            sync: args.sync,
            urgency: args.urgency,
            grouping: args.grouping,
            backlogUntil: deployed === undefined ? undefined : backlogUntil(deployed, hours),
            routes: args.routes.map(({ routingKeys, ...route }) => ({
              ...route,
              integrations: routingKeys.length,
            })),
            accountScope: args.accountScope,
            organizations: args.organizations,
          }),
        ),
      );
    const fn = new aws.lambda.CallbackFunction(
      `${name}-function`,
      {
        name: functionName,
        description: "Turns AWS Security Hub findings into PagerDuty Events API v2 events",
        role,
        ...functionRuntime(logGroup),
        timeout: plan.functionTimeoutSeconds,
        memorySize: args.memorySizeMb,
        environment: { variables: environment },
        // Runs once per cold start: the clients and the cached routing key live in the handler's closure.
        callbackFactory: () => createHandler(settingsFromEnvironment(process.env)),
      },
      { ...child, dependsOn: [rolePolicy, logGroup] },
    );
    for (const lane of lanes) {
      new aws.lambda.EventSourceMapping(
        `${name}-${lane}-mapping`,
        {
          eventSourceArn: laneQueue(lane).arn,
          functionName: fn.arn,
          batchSize: mappingOf(plan, lane).batchSize,
          maximumBatchingWindowInSeconds: mappingOf(plan, lane).maximumBatchingWindowSeconds,
          scalingConfig: { maximumConcurrency: plan.maximumConcurrency },
          functionResponseTypes: ["ReportBatchItemFailures"],
        },
        { ...child, dependsOn: [rolePolicy] },
      );
    }

    this.parameterName = parameter.name;
    const byLane = (pick: (queue: aws.sqs.Queue) => pulumi.Output<string>) =>
      pulumi
        .all(lanes.map((lane) => pick(laneQueue(lane))))
        .apply((values) => Object.fromEntries(lanes.map((lane, index) => [lane, values[index] ?? ""])));
    this.queueUrls = byLane((queue) => queue.url);
    this.queueArns = byLane((queue) => queue.arn);
    this.queueNames = byLane((queue) => queue.name);
    this.deadLetterQueueName = deadLetters.name;
    this.ruleDeadLetterQueueName = ruleDeadLetters.name;
    this.deadLetterQueueUrl = deadLetters.url;
    this.deadLetterQueueArn = deadLetters.arn;
    this.ruleDeadLetterQueueUrl = ruleDeadLetters.url;
    this.ruleDeadLetterQueueArn = ruleDeadLetters.arn;
    this.ruleNames = pulumi.all(rules.map((rule) => rule.resource.name));
    this.functionName = fn.name;
    this.stateTableName = state.name;
    this.stateTableArn = state.arn;
    this.registerOutputs({
      parameterName: this.parameterName,
      queueUrls: this.queueUrls,
      queueArns: this.queueArns,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
      deadLetterQueueArn: this.deadLetterQueueArn,
      ruleDeadLetterQueueUrl: this.ruleDeadLetterQueueUrl,
      ruleDeadLetterQueueArn: this.ruleDeadLetterQueueArn,
      ruleNames: this.ruleNames,
      functionName: this.functionName,
      stateTableName: this.stateTableName,
    });
  }
}
