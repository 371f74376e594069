import { pulumiConfigSource, readStackConfig } from "./config";
import { planRules } from "./infra/eventPatterns";
import { FindingDelivery } from "./infra/findingDelivery";
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
  });
  const delivery = new FindingDelivery("delivery", {
    stack: config.stack,
    routingKey: pagerduty.routingKey,
    parameterName: config.parameterName,
    kmsKeyArn: config.kmsKeyArn,
    pagerDutyRegion: config.pagerDutyRegion,
    filter: config.filter,
    alertState: config.alertState,
    sync: config.sync,
    rules: planRules(config.filter, { resolveRule: config.resolveRule, priorityLanes: config.priorityLanes }),
    plan: deliveryPlan(config.delivery),
    memorySizeMb: config.delivery.memorySizeMb,
    logRetentionDays: config.delivery.logRetentionDays,
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
    alarmTopicArn: delivery.alarmTopicArn,
  };
};
