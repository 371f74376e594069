import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SeverityLabel } from "../finding/model";

// The functions' own metrics, in CloudWatch embedded metric format (EMF) written into their logs: CloudWatch turns
// each line into metrics, with no PutMetricData call and no extra permission. Powertools for AWS Lambda writes the
// format; dimensions stay low in cardinality: the stack, and a page's severity, never a finding or a key.

export const METRICS_NAMESPACE = "ElectricEyePagerDuty";
export const METRICS_SERVICE = "electriceye-pagerduty";

/** Every count the functions emit, and what it counts. */
export const COUNTS = {
  /** A new alert opened (PagerDuty pages); by severity. */
  PagesSent: "pages sent, by severity",
  AlertsUpdated: "open alerts updated (severity or resources changed, refreshed, or sent again)",
  ResolvesSent: "alerts resolved by their finding",
  SkippedUnchanged: "re-imports of open alerts that changed nothing: not sent",
  NothingToResolve: "resolutions of findings that never paged: not sent",
  SkippedOther: "other findings not sent: stale, already resolved, held after a responder's resolution",
  FilteredOut: "findings the stack's filter does not page on",
  DeadLettered: "records dead-lettered with their reason",
  HandedBack: "records handed back to their queue for a later try",
  PagerDutyRequests: "requests made to PagerDuty's Events API",
  PagerDutyRateLimited: "429 answers from PagerDuty",
  PagerDutyServerErrors: "5xx answers from PagerDuty",
  PagerDutyRetries: "attempts after the first (server errors, timeouts, connection errors)",
  StateTableFailures: "alert state reads or writes that failed (sent anyway), or contended (decided again)",
  AlertsMoved: "alerts moved to another route's service (resolved on the old one, opened on the new)",
  AccountFactsUnavailable:
    "findings routed without their account's tags and parents (Organizations could not be read): default route",
  SecurityHubUpdates: "findings written to in Security Hub",
  SecurityHubWriteFailures: "findings Security Hub was not updated for",
  WebhooksApplied: "PagerDuty webhook events applied to findings",
  WebhooksRefused: "webhook requests refused (unsigned, mis-signed, malformed, oversized, another service's)",
  WebhooksUnavailable:
    "webhook deliveries answered 5xx for PagerDuty to deliver again (secret, state or Security Hub unavailable)",
  WebhooksTooOld: "signed webhook events too old to apply, acknowledged and ignored",
} as const;
export type CountName = keyof typeof COUNTS;

/** Milliseconds from the Security Hub event of a finding to PagerDuty's acceptance of its page. */
export const IMPORT_TO_PAGE = "ImportToPageMs";

/** The dimensions of each metric, as emitted; the dashboard and alarms must name exactly these. */
export const BASE_DIMENSIONS = ["service", "Stack"] as const;
export const PAGE_DIMENSIONS = ["service", "Stack", "Severity"] as const;

export interface Meter {
  count(name: Exclude<CountName, "PagesSent">, value?: number): void;
  page(severity: SeverityLabel): void;
  importToPage(milliseconds: number): void;
  /** Writes what was counted since the last flush (one line per dimension set); nothing when nothing was. */
  flush(): void;
}

export function createMeter(
  stack: string,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Meter {
  const make = (dimensions: Record<string, string>) =>
    new Metrics({
      namespace: METRICS_NAMESPACE,
      serviceName: METRICS_SERVICE,
      defaultDimensions: { Stack: stack, ...dimensions },
    });
  const base = make({});
  const bySeverity = new Map<SeverityLabel, Metrics>();
  // Counted here and written at flush, one value a name: Powertools writes a metric of 100 values to standard output
  // by itself, past `write`, and a batch of thousands of records counts far more than that.
  const counts = new Map<string, number>();
  const pages = new Map<SeverityLabel, number>();
  let durations: number[] = [];
  const emit = (metrics: Metrics) => {
    if (!metrics.hasStoredMetrics()) return;
    write(JSON.stringify(metrics.serializeMetrics()));
    metrics.clearMetrics();
  };
  return {
    count(name, value = 1) {
      counts.set(name, (counts.get(name) ?? 0) + value);
    },
    page(severity) {
      pages.set(severity, (pages.get(severity) ?? 0) + 1);
    },
    importToPage(milliseconds) {
      durations.push(Math.max(0, Math.round(milliseconds)));
    },
    flush() {
      for (const [name, value] of counts) base.addMetric(name, MetricUnit.Count, value);
      counts.clear();
      // The durations go out in lines of at most MAX_VALUES_A_LINE values.
      do {
        for (const milliseconds of durations.slice(0, MAX_VALUES_A_LINE))
          base.addMetric(IMPORT_TO_PAGE, MetricUnit.Milliseconds, milliseconds);
        durations = durations.slice(MAX_VALUES_A_LINE);
        emit(base);
      } while (durations.length > 0);
      for (const [severity, value] of pages) {
        const metrics = bySeverity.get(severity) ?? make({ Severity: severity });
        bySeverity.set(severity, metrics);
        metrics.addMetric("PagesSent", MetricUnit.Count, value);
        emit(metrics);
      }
      pages.clear();
    },
  };
}

// Powertools writes a metric by itself when it reaches 100 values: a line holds at most 99 of them.
const MAX_VALUES_A_LINE = 99;

/** Counts nothing: for local runs whose output tells the story itself. */
export const silentMeter: Meter = {
  count: () => undefined,
  page: () => undefined,
  importToPage: () => undefined,
  flush: () => undefined,
};
