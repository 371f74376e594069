import { pulumiConfigSource, readStackConfig } from "./config";
import { lanesOf, stackRules } from "./infra/eventPatterns";
import { Operations } from "./infra/operations";
import * as pulumi from "@pulumi/pulumi";
import { FindingDelivery } from "./infra/findingDelivery";
import { SecurityHubSync, accountSecurityHubArns } from "./infra/securityHubSync";
import { PagerDutyService } from "./infra/pagerdutyService";
import { tagsTransformation } from "./infra/tags";
import { deliveryPlan } from "./infra/tuning";

// The program reads and validates the stack configuration, then wires the PagerDuty side to the AWS side.
// It is a function so that the offline plan and the tests can run it once per stack configuration.
export = async () => {
  const config = readStackConfig(pulumiConfigSource());
  const tagged = { transformations: [tagsTransformation(config.tags)] };
  const pagerduty = new PagerDutyService("pagerduty", {
    config: config.pagerduty,
    region: config.pagerDutyRegion,
    alarmIntegration: config.alarms.enabled,
    stack: config.stack,
    supportHours: config.urgency.supportHours,
  });
  // One PagerDuty side per route, each made as the stack's own is.
  const routes = config.routes.map((route) => ({
    route,
    pagerduty: new PagerDutyService(`pagerduty-${route.name}`, {
      config: route.pagerduty,
      region: config.pagerDutyRegion,
      alarmIntegration: false,
      stack: config.stack,
      supportHours: route.supportHours,
    }),
  }));
  // Written to by both functions when the stack syncs with Security Hub.
  const securityHubArns = config.sync.enabled ? accountSecurityHubArns() : undefined;
  const rules = stackRules(config);
  const delivery = new FindingDelivery(
    "delivery",
    {
      stack: config.stack,
      routingKeys: pagerduty.routingKeys,
      parameterName: config.parameterName,
      kmsKeyArn: config.kmsKeyArn,
      pagerDutyRegion: config.pagerDutyRegion,
      filter: config.filter,
      alertState: config.alertState,
      urgency: config.urgency,
      grouping: config.grouping,
      sync: config.sync,
      securityHubArns,
      rules,
      plan: deliveryPlan(config.delivery),
      memorySizeMb: config.delivery.memorySizeMb,
      logRetentionDays: config.delivery.logRetentionDays,
      routes: routes.map(({ route, pagerduty: service }) => ({
        name: route.name,
        match: route.match,
        parameterName: route.parameterName,
        routingKeys: service.routingKeys,
        serviceName: route.serviceName,
        supportHours: route.supportHours,
      })),
      accountScope: config.accountScope,
      organizations: config.organizations,
      protectState: config.protectState,
    },
    tagged,
  );
  const sync =
    securityHubArns === undefined
      ? undefined
      : new SecurityHubSync(
          "sync",
          {
            stack: config.stack,
            securityHubArns,
            stateTableName: delivery.stateTableName,
            stateTableArn: delivery.stateTableArn,
            kmsKeyArn: config.kmsKeyArn,
            parameterName: config.parameterName,
            logRetentionDays: config.delivery.logRetentionDays,
            customAction: config.sync.customAction,
            pagerduty:
              config.pagerduty.mode === "existingKey" || !config.sync.webhookEndpoint
                ? undefined
                : {
                    token: config.pagerduty.token,
                    serviceId: pagerduty.serviceId as pulumi.Output<string>,
                    region: config.pagerDutyRegion,
                    routes: routes.flatMap(({ route, pagerduty: service }) =>
                      route.pagerduty.mode === "existingKey"
                        ? []
                        : [
                            {
                              name: route.name,
                              parameterName: route.parameterName,
                              serviceId: service.serviceId as pulumi.Output<string>,
                            },
                          ],
                    ),
                  },
          },
          tagged,
        );
  const operations = new Operations(
    "operations",
    {
      stack: config.stack,
      lanes: lanesOf(rules),
      queueNames: delivery.queueNames,
      deadLetterQueueName: delivery.deadLetterQueueName,
      ruleDeadLetterQueueName: delivery.ruleDeadLetterQueueName,
      functionName: delivery.functionName,
      webhookFunctionName: sync?.webhookFunctionName ?? pulumi.output(undefined),
      sync: sync !== undefined,
      accountFacts: config.organizations !== undefined,
      eventsPerMinute: config.delivery.eventsPerMinute,
      pageDelayAlarmMinutes: config.alarms.pageDelayMinutes,
      alarms: {
        enabled: config.alarms.enabled,
        pagerdutyEndpoint: pagerduty.alarmEndpoint,
        email: config.alarms.email,
      },
    },
    tagged,
  );
  return {
    pagerdutyServiceId: pagerduty.serviceId,
    pagerdutyIntegrationId: pagerduty.integrationId,
    ...(routes.length === 0
      ? {}
      : {
          routes: pulumi.all(
            routes.map(({ route, pagerduty: service }) =>
              pulumi.all([service.serviceId, service.integrationId]).apply(([serviceId, integrationId]) => ({
                name: route.name,
                parameterName: route.parameterName,
                serviceId,
                integrationId,
              })),
            ),
          ),
        }),
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
