import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CustomAction, PagerDutyRegion } from "../config";
import {
  createWebhookHandler,
  webhookSettingsFromEnvironment,
  webhookSettingsToEnvironment,
} from "../handler/sync/endpoint";
import { WEBHOOK_TIMEOUT_SECONDS } from "../handler/sync/ledger";
import { WEBHOOK_EVENT_TYPES } from "../handler/sync/webhook";
import { PAGE_ON_CALL_DESCRIPTION } from "./eventPatterns";
import { securityHubArnsOf, webhookFunctionPolicy } from "./iamPolicies";
import { functionLogsAndRole, functionRuntime, lambdaFunctionName } from "./lambda";
import { PAGERDUTY_API_URLS, PagerDutyWebhookSubscription } from "./webhookSubscription";

/** The account's Security Hub in the stack's Region, both its hubs: the resources BatchUpdateFindings is granted on. */
export function accountSecurityHubArns(opts?: pulumi.InvokeOptions): pulumi.Output<string[]> {
  return pulumi
    .all([
      aws.getPartitionOutput({}, opts).partition,
      aws.getRegionOutput({}, opts).region,
      aws.getCallerIdentityOutput({}, opts).accountId,
    ])
    .apply(([partition, region, account]) => securityHubArnsOf(partition, region, account));
}

export interface SecurityHubSyncArgs {
  stack: string;
  securityHubArns: pulumi.Output<string[]>;
  stateTableName: pulumi.Output<string>;
  stateTableArn: pulumi.Output<string>;
  kmsKeyArn: string | undefined;
  /** The SSM parameter of the routing key; the signing secret's is named after it. */
  parameterName: string;
  logRetentionDays: number;
  customAction: CustomAction;
  /**
   * What the webhook subscription needs; undefined for no webhook endpoint: when the stack only has a routing key
   * (no API token), or leaves the endpoint out.
   */
  pagerduty:
    | {
        token: pulumi.Output<string>;
        serviceId: pulumi.Output<string>;
        region: PagerDutyRegion;
        /** Each route's own service (routes with only a routing key have none to subscribe to). */
        routes: { name: string; parameterName: string; serviceId: pulumi.Output<string> }[];
      }
    | undefined;
}

// Concurrent deliveries PagerDuty may make; more would only contend for the same state items.
const WEBHOOK_CONCURRENCY = 2;

/**
 * Security Hub and PagerDuty in both directions, the parts outside the delivery function: the "Page on-call"
 * custom action, and the webhook endpoint (a function URL) with PagerDuty's subscription to it and the
 * subscription's signing secret in an SSM SecureString.
 */
export class SecurityHubSync extends pulumi.ComponentResource {
  readonly actionTargetArn: pulumi.Output<string>;
  readonly webhookUrl: pulumi.Output<string | undefined>;
  readonly webhookSecretParameterName: pulumi.Output<string | undefined>;
  readonly webhookFunctionName: pulumi.Output<string | undefined>;

  constructor(name: string, args: SecurityHubSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    // The args hold the PagerDuty token, so they are not handed to super().
    super("electriceye-pagerduty:aws:SecurityHubSync", name, {}, opts);
    const child = { parent: this };
    const action = new aws.securityhub.ActionTarget(
      `${name}-page-on-call`,
      { ...args.customAction, description: PAGE_ON_CALL_DESCRIPTION },
      child,
    );
    this.actionTargetArn = action.arn;
    if (args.pagerduty === undefined) {
      this.webhookUrl = pulumi.output(undefined);
      this.webhookSecretParameterName = pulumi.output(undefined);
      this.webhookFunctionName = pulumi.output(undefined);
      this.registerOutputs({ actionTargetArn: this.actionTargetArn });
      return;
    }
    const region = aws.getRegionOutput({}, child).region;
    const functionName = lambdaFunctionName(`electriceye-pagerduty-webhook-${args.stack}`);
    const secretParameterName = `${args.parameterName}-webhook-secret`;
    // Every route's service is subscribed to the same endpoint, each subscription with its own signing secret.
    const routes = args.pagerduty.routes.map((route) => ({
      ...route,
      secretParameterName: `${route.parameterName}-webhook-secret`,
    }));
    const { logGroup, role } = functionLogsAndRole(
      `${name}-webhook`,
      {
        functionName,
        logRetentionDays: args.logRetentionDays,
        roleDescription:
          "electriceye-pagerduty webhook: read its signing secret and the alert state, write to Security Hub",
      },
      child,
    );
    const fn = new aws.lambda.CallbackFunction(
      `${name}-webhook-function`,
      {
        name: functionName,
        description:
          "Receives PagerDuty's webhooks and writes responders' actions back to Security Hub findings",
        role,
        ...functionRuntime(logGroup),
        timeout: WEBHOOK_TIMEOUT_SECONDS,
        memorySize: 256,
        reservedConcurrentExecutions: WEBHOOK_CONCURRENCY,
        environment: {
          variables: pulumi
            .all([
              args.pagerduty.serviceId,
              args.stateTableName,
              pulumi.all(args.pagerduty.routes.map((route) => route.serviceId)),
            ])
            .apply(([serviceId, stateTable, routeServiceIds]) =>
              webhookSettingsToEnvironment({
                stack: args.stack,
                secretParameterName,
                serviceId,
                stateTable,
                secretTtlSeconds: 300,
                routes: routes.map((route, index) => ({
                  serviceId: routeServiceIds[index] ?? "",
                  secretParameterName: route.secretParameterName,
                })),
              }),
            ),
        },
        callbackFactory: () => createWebhookHandler(webhookSettingsFromEnvironment(process.env)),
      },
      { ...child, dependsOn: [logGroup] },
    );
    // PagerDuty cannot sign requests the AWS way: the URL is public, and the function checks PagerDuty's signature.
    const url = new aws.lambda.FunctionUrl(
      `${name}-webhook-url`,
      { functionName: fn.name, authorizationType: "NONE" },
      child,
    );
    new aws.lambda.Permission(
      `${name}-webhook-url-permission`,
      { function: fn.name, action: "lambda:InvokeFunctionUrl", principal: "*", functionUrlAuthType: "NONE" },
      child,
    );
    new aws.lambda.Permission(
      `${name}-webhook-invoke-permission`,
      { function: fn.name, action: "lambda:InvokeFunction", principal: "*", invokedViaFunctionUrl: true },
      child,
    );
    const pagerduty = args.pagerduty;
    const subscribe = (
      resourceName: string,
      serviceId: pulumi.Output<string>,
      parameterName: string,
      what: string,
    ) => {
      const subscription = new PagerDutyWebhookSubscription(
        `${name}-${resourceName}`,
        {
          token: pagerduty.token,
          apiUrl: PAGERDUTY_API_URLS[pagerduty.region],
          serviceId,
          url: url.functionUrl,
          events: [...WEBHOOK_EVENT_TYPES],
          description: `electriceye-pagerduty (${args.stack}${what}): responders' actions back to Security Hub`,
        },
        child,
      );
      return new aws.ssm.Parameter(
        `${name}-${resourceName.replace("subscription", "secret")}`,
        {
          name: parameterName,
          description: `Signing secret of the PagerDuty webhook subscription${what} (electriceye-pagerduty)`,
          type: "SecureString",
          value: subscription.secret,
          ...(args.kmsKeyArn === undefined ? {} : { keyId: args.kmsKeyArn }),
        },
        child,
      );
    };
    const secret = subscribe("webhook-subscription", pagerduty.serviceId, secretParameterName, "");
    const routeSecrets = routes.map((route) =>
      subscribe(
        `${route.name}-webhook-subscription`,
        route.serviceId,
        route.secretParameterName,
        `, route ${route.name}`,
      ),
    );
    new aws.iam.RolePolicy(
      `${name}-webhook-role-policy`,
      {
        role: role.id,
        policy: pulumi
          .all([
            region,
            logGroup.arn,
            pulumi.all([secret.arn, ...routeSecrets.map((parameter) => parameter.arn)]),
            args.stateTableArn,
            args.securityHubArns,
          ])
          .apply(([regionName, logGroupArn, secretParameterArns, stateTableArn, securityHubArns]) =>
            JSON.stringify(
              webhookFunctionPolicy({
                region: regionName,
                logGroupArn,
                secretParameterArns,
                kmsKeyArn: args.kmsKeyArn,
                stateTableArn,
                securityHubArns,
              }),
            ),
          ),
      },
      child,
    );
    this.webhookUrl = url.functionUrl;
    this.webhookSecretParameterName = secret.name;
    this.webhookFunctionName = fn.name;
    this.registerOutputs({
      actionTargetArn: this.actionTargetArn,
      webhookUrl: this.webhookUrl,
      webhookSecretParameterName: this.webhookSecretParameterName,
      webhookFunctionName: this.webhookFunctionName,
    });
  }
}
