import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PagerDutyRegion } from "../config";
import {
  createWebhookHandler,
  webhookSettingsFromEnvironment,
  webhookSettingsToEnvironment,
} from "../handler/sync/endpoint";
import { WEBHOOK_TIMEOUT_SECONDS } from "../handler/sync/ledger";
import { WEBHOOK_EVENT_TYPES } from "../handler/sync/webhook";
import { PAGE_ON_CALL } from "./eventPatterns";
import { securityHubArnOf, webhookFunctionPolicy } from "./iamPolicies";
import { functionLogsAndRole, functionRuntime, lambdaFunctionName } from "./lambda";
import { PAGERDUTY_API_URLS, PagerDutyWebhookSubscription } from "./webhookSubscription";

/** The account's Security Hub in the stack's Region: the resource BatchUpdateFindings is granted on. */
export function accountSecurityHubArn(opts?: pulumi.InvokeOptions): pulumi.Output<string> {
  return pulumi
    .all([
      aws.getPartitionOutput({}, opts).partition,
      aws.getRegionOutput({}, opts).region,
      aws.getCallerIdentityOutput({}, opts).accountId,
    ])
    .apply(([partition, region, account]) => securityHubArnOf(partition, region, account));
}

export interface SecurityHubSyncArgs {
  stack: string;
  securityHubArn: pulumi.Output<string>;
  stateTableName: pulumi.Output<string>;
  stateTableArn: pulumi.Output<string>;
  kmsKeyArn: string | undefined;
  /** The SSM parameter of the routing key; the signing secret's is named after it. */
  parameterName: string;
  logRetentionDays: number;
  /** What the webhook subscription needs; undefined when the stack only has a routing key (no API token). */
  pagerduty:
    { token: pulumi.Output<string>; serviceId: pulumi.Output<string>; region: PagerDutyRegion } | undefined;
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
      { name: PAGE_ON_CALL.name, identifier: PAGE_ON_CALL.identifier, description: PAGE_ON_CALL.description },
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
            .all([args.pagerduty.serviceId, args.stateTableName])
            .apply(([serviceId, stateTable]) =>
              webhookSettingsToEnvironment({
                stack: args.stack,
                secretParameterName,
                serviceId,
                stateTable,
                secretTtlSeconds: 300,
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
    const subscription = new PagerDutyWebhookSubscription(
      `${name}-webhook-subscription`,
      {
        token: args.pagerduty.token,
        apiUrl: PAGERDUTY_API_URLS[args.pagerduty.region],
        serviceId: args.pagerduty.serviceId,
        url: url.functionUrl,
        events: [...WEBHOOK_EVENT_TYPES],
        description: `electriceye-pagerduty (${args.stack}): responders' actions back to Security Hub`,
      },
      child,
    );
    const secret = new aws.ssm.Parameter(
      `${name}-webhook-secret`,
      {
        name: secretParameterName,
        description: "Signing secret of the PagerDuty webhook subscription (electriceye-pagerduty)",
        type: "SecureString",
        value: subscription.secret,
        ...(args.kmsKeyArn === undefined ? {} : { keyId: args.kmsKeyArn }),
      },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-webhook-role-policy`,
      {
        role: role.id,
        policy: pulumi
          .all([region, logGroup.arn, secret.arn, args.stateTableArn, args.securityHubArn])
          .apply(([regionName, logGroupArn, secretParameterArn, stateTableArn, securityHubArn]) =>
            JSON.stringify(
              webhookFunctionPolicy({
                region: regionName,
                logGroupArn,
                secretParameterArn,
                kmsKeyArn: args.kmsKeyArn,
                stateTableArn,
                securityHubArn,
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
