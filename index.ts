import { pulumiConfigSource, readStackConfig } from "./config";
import { lanesOf, stackRules } from "./infra/eventPatterns";
import { Operations } from "./infra/operations";
import * as pulumi from "@pulumi/pulumi";
import { FindingDelivery } from "./infra/findingDelivery";
import { SecurityHubSync, accountSecurityHubArn } from "./infra/securityHubSync";
import { PagerDutyService } from "./infra/pagerdutyService";
import { deliveryPlan } from "./infra/tuning";

// The program reads and validates the stack configuration, then wires the PagerDuty side to the AWS side.
// It is a function so that the offline plan and the tests can run it once per stack configuration.
export = async () => {
  const config = readStackConfig(pulumiConfigSource());
  const pagerduty = new PagerDutyService("pagerduty", {
    config: config.pagerduty,
    region: config.pagerDutyRegion,
    alarmIntegration: config.alarms.enabled,
    stack: config.stack,
    supportHours: config.urgency.supportHours,
  });
  // Written to by both functions when the stack syncs with Security Hub.
  const securityHubArn = config.sync.enabled ? accountSecurityHubArn() : undefined;
  const rules = stackRules(config);
  const delivery = new FindingDelivery("delivery", {
    stack: config.stack,
    routingKey: pagerduty.routingKey,
    parameterName: config.parameterName,
    kmsKeyArn: config.kmsKeyArn,
    pagerDutyRegion: config.pagerDutyRegion,
    filter: config.filter,
    alertState: config.alertState,
    urgency: config.urgency,
    sync: config.sync,
    securityHubArn,
    rules,
    plan: deliveryPlan(config.delivery),
    memorySizeMb: config.delivery.memorySizeMb,
    logRetentionDays: config.delivery.logRetentionDays,
  });
  const sync =
    securityHubArn === undefined
      ? undefined
      : new SecurityHubSync("sync", {
          stack: config.stack,
          securityHubArn,
          stateTableName: delivery.stateTableName,
          stateTableArn: delivery.stateTableArn,
          kmsKeyArn: config.kmsKeyArn,
          parameterName: config.parameterName,
          logRetentionDays: config.delivery.logRetentionDays,
          pagerduty:
            config.pagerduty.mode === "existingKey"
              ? undefined
              : {
                  token: config.pagerduty.token,
                  serviceId: pagerduty.serviceId as pulumi.Output<string>,
                  region: config.pagerDutyRegion,
                },
        });
  const operations = new Operations("operations", {
    stack: config.stack,
    lanes: lanesOf(rules),
    queueNames: delivery.queueNames,
    deadLetterQueueName: delivery.deadLetterQueueName,
    ruleDeadLetterQueueName: delivery.ruleDeadLetterQueueName,
    functionName: delivery.functionName,
    webhookFunctionName: sync?.webhookFunctionName ?? pulumi.output(undefined),
    sync: sync !== undefined,
    eventsPerMinute: config.delivery.eventsPerMinute,
    pageDelayAlarmMinutes: config.alarms.pageDelayMinutes,
    alarms: {
      enabled: config.alarms.enabled,
      pagerdutyEndpoint: pagerduty.alarmEndpoint,
      email: config.alarms.email,
    },
  });
  return {
    pagerdutyServiceId: pagerduty.serviceId,
    pagerdutyIntegrationId: pagerduty.integrationId,
    parameterName: delivery.parameterName,
    queueUrls: delivery.queueUrls,
    queueArns: delivery.queueArns,
    deadLetterQueueUrl: delivery.deadLetterQueueUrl,
    deadLetterQueueArn: delivery.deadLetterQueueArn,
    ruleDeadLetterQueueUrl: delivery.ruleDeadLetterQueueUrl,
    ruleDeadLetterQueueArn: delivery.ruleDeadLetterQueueArn,
    ruleNames: delivery.ruleNames,
    functionName: delivery.functionName,
    stateTableName: delivery.stateTableName,
    alarmTopicArn: operations.alarmTopicArn,
    dashboardName: operations.dashboardName,
    dashboardUrl: operations.dashboardUrl,
    ...(sync === undefined
      ? {}
      : {
          securityHubActionArn: sync.actionTargetArn,
          webhookUrl: sync.webhookUrl,
          webhookSecretParameterName: sync.webhookSecretParameterName,
          webhookFunctionName: sync.webhookFunctionName,
        }),
  };
};
