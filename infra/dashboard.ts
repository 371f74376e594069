import { SEVERITY_LABELS } from "../handler/finding/model";
import {
  IMPORT_TO_PAGE,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type CountName,
} from "../handler/telemetry/metrics";
import type { Lane } from "./eventPatterns";

// Pure: the CloudWatch dashboard of a stack, from the names of what it deployed. Every metric it shows is one the
// functions emit (in their namespace, with exactly their dimensions) or one AWS publishes for a resource of the
// stack (its queues, its functions).

export interface DashboardInputs {
  stack: string;
  region: string;
  /** The delivery function, and the webhook function when the stack syncs with Security Hub. */
  functionNames: string[];
  laneQueues: { lane: Lane; name: string }[];
  deadLetterQueueName: string;
  ruleDeadLetterQueueName: string;
  eventsPerMinute: number;
  /** The import-to-page time (p99) the alarm is raised at, in seconds. */
  pageDelayAlarmSeconds: number;
}

type MetricSpec = (string | Record<string, unknown>)[];

interface Widget {
  type: "metric";
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}

export interface DashboardBody {
  widgets: Widget[];
}

const WIDTH = 12;
const HEIGHT = 6;

export function dashboardBody(inputs: DashboardInputs): DashboardBody {
  const own = (name: string, options: Record<string, unknown> = {}, extra: string[] = []): MetricSpec => [
    METRICS_NAMESPACE,
    name,
    "service",
    METRICS_SERVICE,
    "Stack",
    inputs.stack,
    ...extra,
    ...(Object.keys(options).length === 0 ? [] : [options]),
  ];
  const count = (name: CountName, label: string) => own(name, { label, stat: "Sum" });
  const queue = (metric: string, queueName: string, label: string, stat = "Maximum"): MetricSpec => [
    "AWS/SQS",
    metric,
    "QueueName",
    queueName,
    { label, stat },
  ];
  const lambda = (metric: string, functionName: string, stat: string): MetricSpec => [
    "AWS/Lambda",
    metric,
    "FunctionName",
    functionName,
    { label: `${functionName} ${metric} ${stat}`, stat },
  ];
  const widget = (title: string, metrics: MetricSpec[], extra: Record<string, unknown> = {}) => ({
    title,
    metrics,
    region: inputs.region,
    view: "timeSeries",
    period: 300,
    ...extra,
  });
  const panels = [
    widget(
      "Pages and resolves",
      [
        ...SEVERITY_LABELS.map((severity) =>
          own("PagesSent", { label: `pages ${severity}`, stat: "Sum" }, ["Severity", severity]),
        ),
        count("AlertsUpdated", "alerts updated"),
        count("ResolvesSent", "alerts resolved by their finding"),
      ],
      { stacked: true },
    ),
    widget("What alert state saved: sent vs not sent", [
      count("PagerDutyRequests", "sent to PagerDuty"),
      count("SkippedUnchanged", "unchanged re-imports, not sent"),
      count("NothingToResolve", "resolutions of findings that never paged, not sent"),
      count("SkippedOther", "stale, already resolved or held, not sent"),
      count("FilteredOut", "filtered out by the function"),
    ]),
    widget(
      "PagerDuty requests a minute, against the key's limit",
      [
        own("PagerDutyRequests", { label: "requests a minute", stat: "Sum", period: 60 }),
        count("PagerDutyRateLimited", "429 answers"),
        count("PagerDutyServerErrors", "5xx answers"),
        count("PagerDutyRetries", "retries"),
      ],
      {
        period: 60,
        annotations: {
          horizontal: [
            { label: "paced to", value: inputs.eventsPerMinute },
            { label: "PagerDuty's limit", value: 120, color: "#d62728" },
          ],
        },
      },
    ),
    widget(
      "Import to page (p50, p99)",
      [
        own(IMPORT_TO_PAGE, { label: "p50", stat: "p50" }),
        own(IMPORT_TO_PAGE, { label: "p99", stat: "p99" }),
      ],
      {
        annotations: {
          horizontal: [{ label: "alarm", value: inputs.pageDelayAlarmSeconds * 1000, color: "#d62728" }],
        },
      },
    ),
    widget(
      "Findings waiting, per lane",
      inputs.laneQueues.map((lane) =>
        queue("ApproximateNumberOfMessagesVisible", lane.name, `${lane.lane} lane`),
      ),
    ),
    widget(
      "Oldest finding waiting, per lane (seconds)",
      inputs.laneQueues.map((lane) => queue("ApproximateAgeOfOldestMessage", lane.name, `${lane.lane} lane`)),
    ),
    widget("Dead letters and hand-backs", [
      queue("ApproximateNumberOfMessagesVisible", inputs.deadLetterQueueName, "in the dead-letter queue"),
      queue(
        "ApproximateNumberOfMessagesVisible",
        inputs.ruleDeadLetterQueueName,
        "in the rules' dead-letter queue",
      ),
      count("DeadLettered", "dead-lettered by the function"),
      count("HandedBack", "handed back to their queue"),
    ]),
    widget(
      "Functions: errors, throttles, duration",
      inputs.functionNames.flatMap((name) => [
        lambda("Errors", name, "Sum"),
        lambda("Throttles", name, "Sum"),
        lambda("Duration", name, "p99"),
      ]),
    ),
    widget("State table and Security Hub", [
      count("StateTableFailures", "state table failures (sent anyway) or contention"),
      count("SecurityHubUpdates", "findings written to in Security Hub"),
      count("SecurityHubWriteFailures", "Security Hub write failures"),
      count("WebhooksApplied", "webhook events applied"),
      count("WebhooksRefused", "webhook requests refused"),
      count("WebhooksUnavailable", "webhook deliveries answered 5xx"),
      count("WebhooksTooOld", "webhook events too old to apply"),
    ]),
  ];
  return {
    widgets: panels.map((properties, index) => ({
      type: "metric",
      x: (index % 2) * WIDTH,
      y: Math.floor(index / 2) * HEIGHT,
      width: WIDTH,
      height: HEIGHT,
      properties,
    })),
  };
}

export function dashboardUrl(region: string, name: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(name)}`;
}
