import assert from "assert/strict";
import { SEVERITY_LABELS } from "../handler/finding/model";
import {
  BASE_DIMENSIONS,
  COUNTS,
  IMPORT_TO_PAGE,
  PAGE_DIMENSIONS,
  createMeter,
} from "../handler/telemetry/metrics";
import { AwsError } from "../standins/awsJson";
import { deliverWebhook, webhookPayload } from "../standins/pagerdutyWebhooks";
import { electricEyeFinding, importedEvent, passedReimport } from "../tools/simulation/findings";
import { sqsEvent } from "./support/fixtures";
import { ROUTING_KEY, WEBHOOK_SECRET, startWorld, type World } from "./support/world";

const DATA_KEY = "0123456789abcdef0123456789abcdef";

// The functions' metrics, as CloudWatch reads them from the embedded metric format lines in their logs.

type Emf = Record<string, unknown> & {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit?: string }[];
    }[];
  };
};

const UNITS = new Set(["Count", "Milliseconds", "Seconds", "Bytes", "None", "Percent", "Count/Second"]);

/** What the EMF specification requires of a line; returns the problems found. */
function emfProblems(line: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const aws = line._aws as Emf["_aws"] | undefined;
  if (typeof aws !== "object" || aws === null) return ["no _aws object"];
  if (!Number.isInteger(aws.Timestamp) || aws.Timestamp < 1e12)
    problems.push("_aws.Timestamp is not epoch milliseconds");
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0)
    problems.push("no CloudWatchMetrics");
  for (const directive of aws.CloudWatchMetrics ?? []) {
    if (
      typeof directive.Namespace !== "string" ||
      directive.Namespace.length === 0 ||
      directive.Namespace.length > 255
    )
      problems.push("Namespace is not a string of 1 to 255 characters");
    for (const set of directive.Dimensions) {
      if (!Array.isArray(set) || set.length > 30)
        problems.push("a dimension set is not a list of at most 30 names");
      for (const name of set)
        if (typeof line[name] !== "string") problems.push(`dimension ${name} has no string value`);
    }
    if (directive.Metrics.length > 100) problems.push("over 100 metrics in a directive");
    for (const metric of directive.Metrics) {
      if (typeof metric.Name !== "string" || metric.Name.length === 0)
        problems.push("a metric without a name");
      if (metric.Unit !== undefined && !UNITS.has(metric.Unit)) problems.push(`unit ${metric.Unit}`);
      const value = line[metric.Name];
      const values = Array.isArray(value) ? value : [value];
      if (
        values.length === 0 ||
        values.length > 100 ||
        !values.every((entry) => typeof entry === "number" && Number.isFinite(entry))
      )
        problems.push(`${metric.Name} has no numeric value (or over 100)`);
    }
  }
  return problems;
}

/** The totals of every metric in the lines, by name and dimension values. */
function totals(lines: Record<string, unknown>[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of lines as Emf[]) {
    for (const directive of line._aws.CloudWatchMetrics) {
      const dimensions = (directive.Dimensions[0] ?? [])
        .filter((name) => name === "Severity")
        .map((name) => `${name}=${String(line[name])}`);
      for (const metric of directive.Metrics) {
        const key = [metric.Name, ...dimensions].join(" ");
        const value = line[metric.Name];
        const sum = (Array.isArray(value) ? value : [value]).reduce(
          (total: number, entry) => total + Number(entry),
          0,
        );
        sums.set(
          key,
          (sums.get(key) ?? 0) + (metric.Unit === "Count" ? sum : Array.isArray(value) ? value.length : 1),
        );
      }
    }
  }
  return sums;
}

describe("the meter", () => {
  it("writes a batch of thousands of counts through its writer, one value a name, and durations 99 a line", () => {
    const lines: Record<string, unknown>[] = [];
    const meter = createMeter("org", (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    for (let index = 0; index < 1500; index += 1) meter.count("SkippedUnchanged");
    for (let index = 0; index < 250; index += 1) meter.importToPage(index);
    meter.page("HIGH");
    meter.page("HIGH");
    meter.flush();
    for (const line of lines) assert.deepEqual(emfProblems(line), [], JSON.stringify(line));
    assert.equal(lines[0]?.SkippedUnchanged, 1500);
    assert.deepEqual(
      lines.map((line) => (Array.isArray(line[IMPORT_TO_PAGE]) ? line[IMPORT_TO_PAGE].length : 0)),
      [99, 99, 52, 0],
    );
    assert.equal(lines[3]?.PagesSent, 2);
    meter.flush();
    assert.equal(lines.length, 4, "nothing left to write");
  });
});

describe("the functions' metrics (embedded metric format), over real HTTP", () => {
  let world: World;
  const emitted = new Map<string, Set<string>>();
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(async () => {
    await world.close();
    for (const line of world.metrics as Emf[]) {
      assert.deepEqual(emfProblems(line), [], JSON.stringify(line));
      for (const directive of line._aws.CloudWatchMetrics) {
        assert.equal(directive.Namespace, "ElectricEyePagerDuty");
        for (const metric of directive.Metrics) {
          const sets = emitted.get(metric.Name) ?? new Set<string>();
          sets.add(JSON.stringify(directive.Dimensions[0]));
          emitted.set(metric.Name, sets);
        }
        // Low cardinality: the service, the stack and a severity label, never a finding, a dedup key or a secret.
        for (const name of directive.Dimensions.flat()) {
          const value = String(line[name]);
          assert.ok(
            ["electriceye-pagerduty", "test", ...SEVERITY_LABELS].includes(value),
            `dimension ${name}=${value}`,
          );
        }
      }
      for (const secret of [ROUTING_KEY, WEBHOOK_SECRET]) assert.ok(!JSON.stringify(line).includes(secret));
    }
  });
  after(() => {
    // Every metric the dashboard and alarms may name is one these runs emitted, with exactly its dimensions.
    const catalogue = new Map<string, string>([
      ...Object.keys(COUNTS).map((name): [string, string] => [
        name,
        JSON.stringify(name === "PagesSent" ? PAGE_DIMENSIONS : BASE_DIMENSIONS),
      ]),
      [IMPORT_TO_PAGE, JSON.stringify(BASE_DIMENSIONS)],
    ]);
    assert.deepEqual([...emitted.keys()].sort(), [...catalogue.keys()].sort());
    for (const [name, sets] of emitted) assert.deepEqual([...sets], [catalogue.get(name)], name);
  });

  const finding = (bucket: string, changes: Record<string, unknown> = {}) => ({
    ...electricEyeFinding("s3-public-policy-critical", bucket, "111122223333"),
    Workflow: { Status: "NEW" },
    ...changes,
  });
  const body = (raw: unknown) => JSON.stringify(importedEvent([raw], new Date()));
  /** Runs `step` and answers the metric totals it added. */
  const delta = async (step: () => Promise<unknown>): Promise<Record<string, number>> => {
    const before = totals(world.metrics);
    await step();
    const after = totals(world.metrics);
    const changed: Record<string, number> = {};
    for (const [key, value] of after)
      if (value !== (before.get(key) ?? 0)) changed[key] = value - (before.get(key) ?? 0);
    return changed;
  };

  it("counts each outcome of a finding exactly once", async () => {
    const handler = world.handler();
    const at = (hour: number) => `2026-03-02T${String(hour).padStart(2, "0")}:00:00.000Z`;
    assert.deepEqual(await delta(() => handler(sqsEvent([body(finding("a", { UpdatedAt: at(10) }))]))), {
      "PagesSent Severity=CRITICAL": 1,
      PagerDutyRequests: 1,
      ImportToPageMs: 1,
    });
    assert.deepEqual(await delta(() => handler(sqsEvent([body(finding("a", { UpdatedAt: at(11) }))]))), {
      SkippedUnchanged: 1,
    });
    assert.deepEqual(
      await delta(() =>
        handler(sqsEvent([body(finding("a", { UpdatedAt: at(12), Severity: { Label: "HIGH" } }))])),
      ),
      { AlertsUpdated: 1, PagerDutyRequests: 1 },
    );
    assert.deepEqual(
      await delta(() => handler(sqsEvent([body(passedReimport(finding("a", { UpdatedAt: at(13) })))]))),
      {
        ResolvesSent: 1,
        PagerDutyRequests: 1,
      },
    );
    assert.deepEqual(await delta(() => handler(sqsEvent([body(finding("a", { UpdatedAt: at(12) }))]))), {
      SkippedOther: 1,
    });
    assert.deepEqual(await delta(() => handler(sqsEvent([body(passedReimport(finding("b")))]))), {
      NothingToResolve: 1,
    });
    const critical = world.handler(
      {},
      { filter: { severityLabels: ["CRITICAL"], products: [], workflowStatuses: [], activeOnly: false } },
    );
    assert.deepEqual(
      await delta(() => critical(sqsEvent([body(finding("c", { Severity: { Label: "MEDIUM" } }))]))),
      { FilteredOut: 1 },
    );
    assert.deepEqual(await delta(() => handler(sqsEvent(["{not json"]))), { DeadLettered: 1 });
  });

  it("counts an alert moved to another route's service, and a finding routed without its account's facts", async () => {
    world.ssm.putParameter("electriceye-pagerduty-data", DATA_KEY);
    const data = { name: "data", parameterName: "electriceye-pagerduty-data", serviceName: "Data" };
    const handler = world.handler(
      {},
      { routes: [{ ...data, match: { resourceTags: { owner: ["data"] } } }] },
    );
    await handler(sqsEvent([body(finding("g"))]));
    const tagged: Record<string, unknown> = finding("g", { UpdatedAt: "2026-03-02T12:00:00.000Z" });
    const [resource] = tagged.Resources as Record<string, unknown>[];
    tagged.Resources = [{ ...resource, Tags: { owner: "data" } }];
    assert.deepEqual(await delta(() => handler(sqsEvent([body(tagged)]))), {
      AlertsMoved: 1,
      PagerDutyRequests: 2,
    });
    const byTag = world.handler(
      { accountFacts: () => Promise.resolve({ kind: "unavailable", reason: "AccessDeniedException" }) },
      { routes: [{ ...data, match: { accountTags: { team: ["data"] } } }] },
    );
    assert.deepEqual(await delta(() => byTag(sqsEvent([body(finding("h"))]))), {
      AccountFactsUnavailable: 1,
      "PagesSent Severity=CRITICAL": 1,
      PagerDutyRequests: 1,
      ImportToPageMs: 1,
    });
  });

  it("counts PagerDuty's 429s, 5xx answers and the retries, and the records handed back", async () => {
    world.pagerduty.injectFault({ kind: "status", status: 503 }, 2);
    assert.deepEqual(await delta(() => world.handler()(sqsEvent([body(finding("d"))]))), {
      "PagesSent Severity=CRITICAL": 1,
      PagerDutyRequests: 3,
      PagerDutyServerErrors: 2,
      PagerDutyRetries: 2,
      ImportToPageMs: 1,
    });
    world.pagerduty.injectFault({ kind: "status", status: 429 });
    assert.deepEqual(await delta(() => world.handler()(sqsEvent([body(finding("e")), body(finding("f"))]))), {
      PagerDutyRequests: 1,
      PagerDutyRateLimited: 1,
      HandedBack: 2,
    });
  });

  it("counts state-table failures, Security Hub writes and their failures, and webhooks applied, refused, too old and answered 5xx", async () => {
    assert.deepEqual(
      await delta(() => world.handler({}, { stateTable: "no-such-table" })(sqsEvent([body(finding("g"))]))),
      { "PagesSent Severity=CRITICAL": 1, PagerDutyRequests: 1, ImportToPageMs: 1, StateTableFailures: 1 },
    );
    const sync = world.handler({}, { securityHubSync: true });
    const [held] = world.securityHub.importFindings([finding("h")]);
    assert.deepEqual(await delta(() => sync(sqsEvent([body(held)]))), {
      "PagesSent Severity=CRITICAL": 1,
      PagerDutyRequests: 1,
      ImportToPageMs: 1,
      SecurityHubUpdates: 1,
    });
    world.securityHub.failNext(new AwsError("AccessDeniedException", "no", 403));
    const [other] = world.securityHub.importFindings([finding("i")]);
    assert.deepEqual(await delta(() => sync(sqsEvent([body(other)]))), {
      "PagesSent Severity=CRITICAL": 1,
      PagerDutyRequests: 1,
      ImportToPageMs: 1,
      SecurityHubWriteFailures: 1,
    });
    const url = await world.webhookEndpoint();
    const alert = world.pagerduty.model.openAlerts()[1];
    assert.ok(alert !== undefined);
    const webhook = JSON.stringify(
      webhookPayload(world.pagerduty.model, alert, "incident.acknowledged", { id: "PADA001", name: "Ada" }),
    );
    assert.deepEqual(await delta(() => deliverWebhook(url, webhook, WEBHOOK_SECRET)), {
      WebhooksApplied: 1,
      SecurityHubUpdates: 1,
    });
    assert.deepEqual(await delta(() => deliverWebhook(url, webhook, WEBHOOK_SECRET, "none")), {
      WebhooksRefused: 1,
    });
    const old = JSON.stringify(
      webhookPayload(world.pagerduty.model, alert, "incident.acknowledged", "events-api", {
        occurredAt: new Date(Date.now() - 4 * 24 * 3600_000),
      }),
    );
    assert.deepEqual(await delta(() => deliverWebhook(url, old, WEBHOOK_SECRET)), { WebhooksTooOld: 1 });
    const withoutSecret = await world.webhookEndpoint({}, { secretParameterName: "no-such-parameter" });
    assert.deepEqual(await delta(() => deliverWebhook(withoutSecret, webhook, WEBHOOK_SECRET)), {
      WebhooksUnavailable: 1,
    });
  });
});
