import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SEVERITY_LABELS } from "../handler/finding/model";
import {
  IMPORT_TO_PAGE,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type CountName,
} from "../handler/telemetry/metrics";
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
  /** The stack syncs with Security Hub (write-back, webhooks): the sync's alarms are made too. */
  sync: boolean;
  /** Routes read account facts from AWS Organizations: findings that take the default route without them alarm. */
  accountFacts: boolean;
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
    const alarm = (
      suffix: string,
      description: string,
      metric: AlarmMetric | { metricQueries: aws.types.input.cloudwatch.MetricAlarmMetricQuery[] },
      threshold: number,
      periods: { seconds: number; evaluated: number } = { seconds: 300, evaluated: 1 },
    ) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${suffix}`,
        {
          alarmDescription: description,
          ...metric,
          ...("metricQueries" in metric ? {} : { period: periods.seconds }),
          evaluationPeriods: periods.evaluated,
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
    if (args.accountFacts)
      alarm(
        "account-facts-alarm",
        "Findings took the default route for 15 minutes because AWS Organizations could not be read (denied, throttled, unreachable): they page the default service instead of their team's",
        {
          namespace: METRICS_NAMESPACE,
          metricName: "AccountFactsUnavailable" satisfies CountName,
          dimensions: { service: METRICS_SERVICE, Stack: args.stack },
          statistic: "Sum",
        },
        0,
        { seconds: 300, evaluated: 3 },
      );
    if (args.sync) this.createSyncAlarms(alarm, args);
    return topic.arn;
  }

  /** The two-way sync fails quietly unless watched: PagerDuty drops what it cannot deliver, then stops sending. */
  private createSyncAlarms(
    alarm: (
      suffix: string,
      description: string,
      metric: AlarmMetric | { metricQueries: aws.types.input.cloudwatch.MetricAlarmMetricQuery[] },
      threshold: number,
      periods?: { seconds: number; evaluated: number },
    ) => aws.cloudwatch.MetricAlarm,
    args: OperationsArgs,
  ): void {
    const dimensions = { service: METRICS_SERVICE, Stack: args.stack };
    const own = (metricName: CountName): AlarmMetric => ({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensions,
      statistic: "Sum",
    });
    alarm(
      "webhook-refusals-alarm",
      "The webhook endpoint refused over 10 requests in 5 minutes: forged traffic, or PagerDuty signing with a secret the stack does not hold (PagerDuty drops what is refused)",
      own("WebhooksRefused"),
      10,
    );
    alarm(
      "webhook-unavailable-alarm",
      "The webhook endpoint answered PagerDuty 5xx for 15 minutes (secret, state table or Security Hub unavailable): PagerDuty disables a subscription that keeps failing",
      own("WebhooksUnavailable"),
      0,
      { seconds: 300, evaluated: 3 },
    );
    alarm(
      "security-hub-write-failures-alarm",
      "Findings could not be updated in Security Hub (pages, acknowledgements and resolutions not written back)",
      own("SecurityHubWriteFailures"),
      0,
    );
    alarm(
      "webhook-function-errors-alarm",
      "The webhook function failed invocations",
      {
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: args.webhookFunctionName.apply((functionName) => functionName ?? "") },
        statistic: "Sum",
      },
      0,
    );
    // Every page opens an incident, whose incident.triggered webhook comes back within minutes. Pages without a
    // single webhook over an hour mean PagerDuty no longer delivers: the subscription was disabled or deleted.
    const hour = 3600;
    const metric = (id: string, metricName: CountName, extra: Record<string, string> = {}) => ({
      id,
      metric: {
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensions: { ...dimensions, ...extra },
        period: hour,
        stat: "Sum",
      },
      returnData: false,
    });
    const pages = SEVERITY_LABELS.map((severity, index) =>
      metric(`pages${index}`, "PagesSent", { Severity: severity }),
    );
    alarm(
      "webhooks-silent-alarm",
      "Pages were sent for an hour and not one webhook came back: PagerDuty's webhook subscription is disabled or gone (re-enable it, or replace it with pulumi up)",
      {
        metricQueries: [
          ...pages,
          metric("webhooks", "WebhooksApplied"),
          {
            id: "silent",
            expression: `IF((${pages.map((page) => `FILL(${page.id}, 0)`).join(" + ")}) > 0 AND FILL(webhooks, 0) == 0, 1, 0)`,
            label: "pages without webhooks",
            returnData: true,
          },
        ],
      },
      0,
      { seconds: hour, evaluated: 1 },
    );
  }
}
