import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { IMPORT_TO_PAGE, METRICS_NAMESPACE, METRICS_SERVICE } from "../handler/telemetry/metrics";
import { dashboardBody, dashboardUrl } from "./dashboard";
import type { Lane } from "./eventPatterns";

export interface OperationsArgs {
  stack: string;
  lanes: Lane[];
  /** Each lane's queue name. */
  queueNames: pulumi.Output<Record<string, string>>;
  deadLetterQueueName: pulumi.Output<string>;
  ruleDeadLetterQueueName: pulumi.Output<string>;
  functionName: pulumi.Output<string>;
  webhookFunctionName: pulumi.Output<string | undefined>;
  eventsPerMinute: number;
  /** A page later than this after its import (p99), or a finding waiting this long in the standard lane, alarms. */
  pageDelayAlarmMinutes: number;
  alarms: {
    enabled: boolean;
    /** HTTPS endpoint of a PagerDuty CloudWatch integration, secret; undefined without one. */
    pagerdutyEndpoint: pulumi.Output<string> | undefined;
    email: string | undefined;
  };
}

// How old the oldest message of a lane may grow before someone should look. The standard lane follows the
// configured page delay: a first scan of thousands legitimately keeps it busy (5,000 findings take 45 minutes).
const OLDEST_MESSAGE_ALARM_SECONDS: Record<Exclude<Lane, "standard">, number> = {
  critical: 600,
  resolve: 1800,
};

interface AlarmMetric {
  namespace: string;
  metricName: string;
  dimensions: Record<string, pulumi.Input<string>>;
  statistic?: string;
  extendedStatistic?: string;
}

/**
 * What an operator looks at: the stack's CloudWatch dashboard, and its alarms, sent to an SNS topic that a
 * CloudWatch integration on the PagerDuty service (and, if set, an email address) subscribes to.
 */
export class Operations extends pulumi.ComponentResource {
  readonly dashboardName: pulumi.Output<string>;
  readonly dashboardUrl: pulumi.Output<string>;
  readonly alarmTopicArn: pulumi.Output<string | undefined>;

  constructor(name: string, args: OperationsArgs, opts?: pulumi.ComponentResourceOptions) {
    // The args hold the alarm integration's URL, which embeds a key: they are not handed to super().
    super("electriceye-pagerduty:aws:Operations", name, {}, opts);
    const child = { parent: this };
    const region = aws.getRegionOutput({}, child).region;
    const dashboardName = `electriceye-pagerduty-${args.stack}`.replace(/[^A-Za-z0-9_-]/g, "-");
    const dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName,
        dashboardBody: pulumi
          .all([
            region,
            args.queueNames,
            args.deadLetterQueueName,
            args.ruleDeadLetterQueueName,
            args.functionName,
            args.webhookFunctionName,
          ])
          .apply(
            ([regionName, queueNames, deadLetterQueueName, ruleDeadLetterQueueName, functionName, webhook]) =>
              JSON.stringify(
                dashboardBody({
                  stack: args.stack,
                  region: regionName,
                  functionNames: webhook === undefined ? [functionName] : [functionName, webhook],
                  laneQueues: Object.entries(queueNames).map(([lane, queueName]) => ({
                    lane: lane as Lane,
                    name: queueName,
                  })),
                  deadLetterQueueName,
                  ruleDeadLetterQueueName,
                  eventsPerMinute: args.eventsPerMinute,
                  pageDelayAlarmSeconds: args.pageDelayAlarmMinutes * 60,
                }),
              ),
          ),
      },
      child,
    );
    this.dashboardName = dashboard.dashboardName;
    this.dashboardUrl = pulumi
      .all([region, dashboard.dashboardName])
      .apply(([regionName, dashboardName]) => dashboardUrl(regionName, dashboardName));
    this.alarmTopicArn = args.alarms.enabled ? this.createAlarms(name, args) : pulumi.output(undefined);
    this.registerOutputs({
      dashboardName: this.dashboardName,
      dashboardUrl: this.dashboardUrl,
      alarmTopicArn: this.alarmTopicArn,
    });
  }

  private createAlarms(name: string, args: OperationsArgs): pulumi.Output<string> {
    const child = { parent: this };
    const topic = new aws.sns.Topic(`${name}-alarms`, { displayName: "electriceye-pagerduty alarms" }, child);
    if (args.alarms.pagerdutyEndpoint !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-alarms-to-pagerduty`,
        {
          topic: topic.arn,
          protocol: "https",
          endpoint: args.alarms.pagerdutyEndpoint,
          endpointAutoConfirms: true,
        },
        child,
      );
    }
    if (args.alarms.email !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-alarms-to-email`,
        { topic: topic.arn, protocol: "email", endpoint: args.alarms.email },
        child,
      );
    }
    const alarm = (suffix: string, description: string, metric: AlarmMetric, threshold: number) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${suffix}`,
        {
          alarmDescription: description,
          ...metric,
          period: 300,
          evaluationPeriods: 1,
          comparisonOperator: "GreaterThanThreshold",
          threshold,
          treatMissingData: "notBreaching",
          alarmActions: [topic.arn],
          okActions: [topic.arn],
        },
        child,
      );
    const queueMetric = (metricName: string, queueName: pulumi.Input<string>): AlarmMetric => ({
      namespace: "AWS/SQS",
      metricName,
      dimensions: { QueueName: queueName },
      statistic: "Maximum",
    });
    alarm(
      "dead-letters-alarm",
      "Findings could not be delivered to PagerDuty and wait in the dead-letter queue (each message carries its reason)",
      queueMetric("ApproximateNumberOfMessagesVisible", args.deadLetterQueueName),
      0,
    );
    alarm(
      "rule-dead-letters-alarm",
      "EventBridge could not put Security Hub events into the delivery queue",
      queueMetric("ApproximateNumberOfMessagesVisible", args.ruleDeadLetterQueueName),
      0,
    );
    alarm(
      "function-errors-alarm",
      "The electriceye-pagerduty function failed invocations",
      {
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: args.functionName },
        statistic: "Sum",
      },
      0,
    );
    const delaySeconds = args.pageDelayAlarmMinutes * 60;
    alarm(
      "page-delay-alarm",
      `Findings took over ${args.pageDelayAlarmMinutes} minutes from their import to their page (p99): a backlog is an outage for a paging system`,
      {
        namespace: METRICS_NAMESPACE,
        metricName: IMPORT_TO_PAGE,
        dimensions: { service: METRICS_SERVICE, Stack: args.stack },
        extendedStatistic: "p99",
      },
      delaySeconds * 1000,
    );
    for (const lane of args.lanes) {
      const seconds = lane === "standard" ? delaySeconds : OLDEST_MESSAGE_ALARM_SECONDS[lane];
      alarm(
        `${lane}-backlog-alarm`,
        `The ${lane} lane's oldest finding has waited over ${seconds / 60} minutes for PagerDuty`,
        queueMetric(
          "ApproximateAgeOfOldestMessage",
          args.queueNames.apply((names) => names[lane] ?? ""),
        ),
        seconds,
      );
    }
    return topic.arn;
  }
}
