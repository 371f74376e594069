import { hostname } from "os";
import { parseArgs } from "util";
import { SSMClient } from "@aws-sdk/client-ssm";
import { systemClock } from "../handler/clock";
import {
  EVENTS_URLS,
  createPagerDutyClient,
  fetchTransport,
  type PagerDutyRegion,
  type SendResult,
} from "../handler/delivery/pagerduty";
import { describeRoutingKeyProblem, type PagerDutyRequest } from "../handler/finding/pagerdutyEvent";
import { createSsmReader } from "../handler/ssm";
import { UsageError, runTool } from "./cli";

// A clearly labelled test event through the same Events API client the function uses: proof that a routing
// key works, before deploying (a key from the PagerDuty console) or after (the key stored in SSM).

export const TEST_DEDUP_KEY = "electriceye-pagerduty-test-page";
const TIMEOUT_MS = 10_000;

export interface TestPageOptions {
  routingKey: string;
  region: PagerDutyRegion;
  resolve: boolean;
  severity: "critical" | "error" | "warning" | "info";
  url?: string;
}

export function testEvent(options: TestPageOptions, now: Date): PagerDutyRequest {
  if (options.resolve)
    return { routing_key: options.routingKey, event_action: "resolve", dedup_key: TEST_DEDUP_KEY };
  return {
    routing_key: options.routingKey,
    event_action: "trigger",
    dedup_key: TEST_DEDUP_KEY,
    payload: {
      summary:
        "TEST PAGE from electriceye-pagerduty: no finding is involved, this only proves the routing key works",
      source: "electriceye-pagerduty test page",
      severity: options.severity,
      timestamp: now.toISOString(),
      component: "test-page",
      class: "test",
      custom_details: {
        test: true,
        sent_from: hostname(),
        close_it_with: "npm run test-page -- --resolve",
      },
    },
    client: "electriceye-pagerduty test page",
  };
}

/** What the result means for the person who sent the test page, in one message; throws for every failure. */
export function explain(result: SendResult, options: TestPageOptions, url: string): string {
  const regionHint =
    options.region === "us" ? " If the PagerDuty account is in the EU service region, add --region eu." : "";
  switch (result.kind) {
    case "accepted":
      return options.resolve
        ? `Resolve accepted by PagerDuty (HTTP ${result.status}): the test alert (dedup key ${TEST_DEDUP_KEY}) is closed.`
        : `Test page accepted by PagerDuty (HTTP ${result.status}): an alert with dedup key ${TEST_DEDUP_KEY} opens on the service of this routing key. Close it with: npm run test-page -- --resolve`;
    case "rejected":
      throw new UsageError(
        `PagerDuty rejected the test event (HTTP ${result.status}): ${result.errors.join("; ")}. Use the Integration Key of an Events API v2 integration (not a REST API token).${regionHint}`,
      );
    case "rateLimited":
      throw new UsageError(
        "PagerDuty is rate-limiting this routing key (HTTP 429): it took about 120 events in the last minute. Nothing is wrong with the key; try again in a minute.",
      );
    case "retryable":
      throw new UsageError(
        result.status === undefined
          ? `could not reach PagerDuty at ${url}: ${result.error}. Check this machine's access to ${new URL(url).host}.`
          : `PagerDuty answered ${result.error}; it is having trouble, try again shortly.`,
      );
  }
}

export async function sendTestPage(options: TestPageOptions): Promise<string> {
  const problem = describeRoutingKeyProblem(options.routingKey);
  if (problem !== undefined)
    throw new UsageError(
      `that routing key cannot work: ${problem}. Copy the Integration Key of the service's Events API v2 integration.`,
    );
  const url = options.url ?? EVENTS_URLS[options.region];
  const client = createPagerDutyClient({
    url,
    transport: fetchTransport,
    clock: systemClock,
    timeoutMs: TIMEOUT_MS,
  });
  return explain(await client.send(testEvent(options, new Date())), options, url);
}

const USAGE = `usage: PAGERDUTY_ROUTING_KEY=<key> npm run test-page -- [--region us|eu] [--resolve] [--severity LEVEL]
       npm run test-page -- --from-ssm PARAMETER [--region us|eu] [--resolve]
  The routing key comes from PAGERDUTY_ROUTING_KEY (kept out of your shell history), --routing-key KEY, or
  --from-ssm NAME (the deployed SSM parameter, read with your AWS credentials). It is never printed.
  --resolve     close the test alert instead of opening it
  --severity    critical, error, warning or info (default info: a low-urgency alert)
  --events-url  send to another Events API URL (a proxy, or a local stand-in)`;

if (require.main === module) {
  runTool("test-page", async () => {
    const { values } = parseArgs({
      options: {
        "routing-key": { type: "string" },
        "from-ssm": { type: "string" },
        region: { type: "string" },
        resolve: { type: "boolean" },
        severity: { type: "string" },
        "events-url": { type: "string" },
        help: { type: "boolean" },
      },
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const region = values.region ?? "us";
    if (region !== "us" && region !== "eu") throw new UsageError(`--region "${region}" is not us or eu`);
    const severity = values.severity ?? "info";
    if (!["critical", "error", "warning", "info"].includes(severity)) {
      throw new UsageError(`--severity "${severity}" is not one of critical, error, warning, info`);
    }
    const parameter = values["from-ssm"];
    const routingKey =
      parameter === undefined
        ? (values["routing-key"] ?? process.env.PAGERDUTY_ROUTING_KEY)
        : await createSsmReader(new SSMClient({}))(parameter).then(
            (read) => read.value,
            (error: unknown) => {
              throw new UsageError(
                `cannot read SSM parameter "${parameter}": ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
              );
            },
          );
    if (routingKey === undefined || routingKey.trim() === "") {
      throw new UsageError(
        `no routing key: set PAGERDUTY_ROUTING_KEY, or pass --routing-key or --from-ssm\n${USAGE}`,
      );
    }
    const message = await sendTestPage({
      routingKey: routingKey.trim(),
      region,
      resolve: values.resolve === true,
      severity: severity as TestPageOptions["severity"],
      ...(values["events-url"] === undefined ? {} : { url: values["events-url"] }),
    });
    process.stdout.write(`${message}\n`);
  });
}
