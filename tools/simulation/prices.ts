// The public list prices the cost model multiplies by, in US East (N. Virginia), on-demand, without free tiers
// or volume tiers (a stack of this size never reaches the first volume tier). The README's cost section states
// the same figures from this module: change a price here, with its source and the date it was read, and both move.

export interface Price {
  /** US dollars per `per` units. */
  usd: number;
  /** How many units the price is for (e.g. 1,000,000 requests). */
  per: number;
  unit: string;
  /** The page the price was read on. */
  source: string;
  /** When it was read (YYYY-MM-DD). */
  read: string;
  note?: string;
}

const READ = "2026-12-01";

export const PRICES = {
  lambdaRequests: {
    usd: 0.2,
    per: 1_000_000,
    unit: "Lambda requests (invocations), arm64 and x86 alike",
    source:
      "https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md?display=rendered",
    read: READ,
    note: "the same $0.20 per million requests as the Managed Instances rate quoted from https://aws.amazon.com/lambda/pricing/; the free tier (1M requests a month) is left out",
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 1,
    unit: "Lambda GB-seconds on arm64 (first 7.5 billion a month)",
    source: "https://cloudchipr.com/blog/aws-lambda-pricing",
    read: READ,
    note: "US East (N. Virginia); matches the arm64 base rate in artillery's prices.js (1333340e-11), taken from https://aws.amazon.com/lambda/pricing/",
  },
  sqsStandardRequests: {
    usd: 0.4,
    per: 1_000_000,
    unit: "SQS standard queue requests (each 64 KB chunk of a payload is one request; empty receives count)",
    source: "https://cloudburn.io/blog/amazon-sqs-pricing",
    read: READ,
    note: "US East (N. Virginia), March 2026, first 100 billion requests a month",
  },
  dynamodbWriteRequestUnits: {
    usd: 0.625,
    per: 1_000_000,
    unit: "DynamoDB on-demand write request units (one standard write of up to 1 KB)",
    source: "https://airbyte.com/data-engineering-resources/dynamodb-pricing",
    read: READ,
    note: "US East; the on-demand rate after AWS's November 2024 reduction",
  },
  dynamodbReadRequestUnits: {
    usd: 0.125,
    per: 1_000_000,
    unit: "DynamoDB on-demand read request units (one strongly consistent read of up to 4 KB)",
    source: "https://airbyte.com/data-engineering-resources/dynamodb-pricing",
    read: READ,
  },
  eventBridgeAwsServiceEvents: {
    usd: 0,
    per: 1_000_000,
    unit: "EventBridge: AWS service events (Security Hub's Imported and custom action events) on the default bus, matched by rules and delivered to targets in the same account",
    source: "https://blog.awsfundamentals.com/aws-eventbridge-pricing-guide",
    read: READ,
    note: "internal AWS events are free; this stack publishes no events of its own",
  },
  eventBridgeCustomEvents: {
    usd: 1,
    per: 1_000_000,
    unit: "EventBridge custom, partner and cross-account events (64 KB chunks)",
    source: "https://blog.awsfundamentals.com/aws-eventbridge-pricing-guide",
    read: READ,
    note: "charged only for events sent with PutEvents or across accounts; the stack's own path uses none",
  },
  ssmStandardParameters: {
    usd: 0,
    per: 1,
    unit: "SSM Parameter Store standard-tier parameters (SecureString included), a month",
    source:
      "https://docs---aws.amazon.com.rproxy.goskope.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html",
    read: READ,
    note: '"Cost: No additional charge" for the standard tier',
  },
  ssmGetParameterStandardThroughput: {
    usd: 0,
    per: 10_000,
    unit: "SSM GetParameter calls at the default (standard) throughput",
    source: "https://docs.aws.eu/systems-manager/latest/userguide/parameter-store-throughput.html",
    read: READ,
    note: "standard throughput is used without additional cost; only higher throughput, which this stack does not turn on, is charged",
  },
  cloudWatchLogsIngestion: {
    usd: 0.5,
    per: 1,
    unit: "CloudWatch Logs ingestion (standard class), per GB",
    source: "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/",
    read: READ,
    note: "us-east-1, June 2026; the embedded metric format lines are log lines and are charged here too",
  },
  cloudWatchCustomMetrics: {
    usd: 0.3,
    per: 1,
    unit: "CloudWatch custom metrics (each name, namespace and dimension combination; EMF included), a month",
    source: "https://signoz.io/guides/cloudwatch-pricing",
    read: READ,
    note: "first 10,000 metrics; a metric is charged by the hour it is written in, prorated",
  },
  cloudWatchAlarms: {
    usd: 0.1,
    per: 1,
    unit: "CloudWatch standard-resolution alarm metrics, a month",
    source: "https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm",
    read: READ,
    note: "an alarm on a metric math expression is charged per metric it reads; the first 10 alarm metrics of an account are free (https://aws.amazon.com/cloudwatch/pricing/)",
  },
  cloudWatchDashboards: {
    usd: 3,
    per: 1,
    unit: "CloudWatch custom dashboards, a month (the first 3 of an account are free)",
    source: "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/",
    read: READ,
  },
  kmsCustomerManagedKey: {
    usd: 1,
    per: 1,
    unit: "KMS customer managed key, a month (only with kmsKeyArn; the aws/ssm key is free)",
    source: "https://aws.amazon.com/kms/pricing/",
    read: READ,
  },
  kmsRequests: {
    usd: 0.03,
    per: 10_000,
    unit: "KMS requests (SSM decrypting a SecureString with a customer managed key)",
    source: "https://www.wring.co/blog/aws-kms-pricing-guide",
    read: READ,
    note: "symmetric key requests; 20,000 free a month",
  },
} as const satisfies Record<string, Price>;

/** The README's price table, row by row, as the cost section states it. */
export function priceRows(): string[] {
  const rows = Object.values(PRICES).map((price: Price) => {
    const usd = price.usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 10 });
    const per =
      price.per === 1
        ? ""
        : price.per === 1_000_000
          ? " per million"
          : ` per ${price.per.toLocaleString("en-US")}`;
    const amount = price.usd === 0 ? "free" : `$${usd}${per}`;
    return `| ${price.unit} | ${amount} | ${price.read} | [source](${price.source}) |`;
  });
  return ["| What | Price (USD) | Read on | Source |", "|---|---|---|---|", ...rows];
}
