// Public list prices in us-east-1 that the benchmark's cost model uses, each with where and when it was read. The
// README's cost section states the same figures.

export interface Price {
  usd: number;
  /** What one `usd` buys. */
  per: string;
  source: string;
  read: string;
}

export const PRICES = {
  lambdaRequests: {
    usd: 0.2,
    per: "1,000,000 requests",
    source: "https://aws.amazon.com/lambda/pricing/",
    read: "2026-12-01",
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: "GB-second on arm64 (first 7.5 billion GB-seconds a month)",
    source: "https://aws.amazon.com/lambda/pricing/",
    read: "2026-12-01",
  },
  sqsStandardRequests: {
    usd: 0.4,
    per: "1,000,000 standard-queue requests (each 64 KB chunk of a payload is a request)",
    source: "https://aws.amazon.com/sqs/pricing/",
    read: "2026-12-01",
  },
  dynamodbReadRequestUnits: {
    usd: 0.125,
    per: "1,000,000 on-demand read request units (a strongly consistent read of up to 4 KB)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    read: "2026-12-01",
  },
  dynamodbWriteRequestUnits: {
    usd: 0.625,
    per: "1,000,000 on-demand write request units (a write of up to 1 KB)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    read: "2026-12-01",
  },
  eventBridgeAwsServiceEvents: {
    usd: 0,
    per: "event: Security Hub's events on the default bus, their rule matching and delivery to SQS are free",
    source: "https://aws.amazon.com/eventbridge/pricing/",
    read: "2026-12-01",
  },
  cloudWatchLogsIngestion: {
    usd: 0.5,
    per: "GB of standard log data ingested (the functions' log lines and embedded-metric lines)",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    read: "2026-12-01",
  },
} satisfies Record<string, Price>;
