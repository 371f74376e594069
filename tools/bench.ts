import { writeFileSync } from "fs";
import { parseArgs } from "util";
import { readStackConfig } from "../config";
import { systemClock } from "../handler/clock";
import { createHandler } from "../handler/index";
import { silentLogger } from "../handler/telemetry/log";
import { createMemoryPacingStore } from "../handler/delivery/pacing";
import { createMemoryResolutionLedger } from "../handler/state/resolutions";
import type { HandlerSettings } from "../handler/settings";
import type { Transport } from "../handler/delivery/pagerduty";
import { lanesOf, planRules, type Lane } from "../infra/eventPatterns";
import { deliveryPlan, functionSettings } from "../infra/tuning";
import { AwsError } from "../standins/awsJson";
import { createPagerDutyModel } from "../standins/pagerdutyModel";
import { UsageError, configPairs, runTool } from "./cli";
import { matchesPattern } from "./patternMatcher";
import { planSettings } from "./plan";
import { Deployment } from "./simulation/deployment";
import { SCENARIOS, accountId, buildScenario, type Arrival, type ScenarioName } from "./simulation/scenarios";
import { renderSvg } from "./simulation/svg";
import { createVirtualTime, seededRandom } from "./simulation/virtualTime";
import { mapConfigSource } from "./stackConfig";

// The benchmark: the deployed delivery path simulated on a virtual clock (queues, event source mappings,
// Lambda containers and timeouts with the stack's own settings), running the real handler against the strict
// PagerDuty model, which enforces 120 events a minute per routing key over a rolling minute.

export interface BenchOptions {
  scenario: ScenarioName;
  findings: number;
  keys: number;
  stack: string;
  config: Record<string, string>;
  seed: number;
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface BenchReport {
  scenario: ScenarioName;
  stack: string;
  priorityLanes: boolean;
  findings: number;
  /** Findings the stack's rules do not admit (e.g. HIGH on a CRITICAL-only stack). */
  filteredOut: number;
  keys: number;
  delivered: number;
  deadLettered: number;
  lost: number;
  makespanSeconds: number;
  limitSeconds: number;
  efficiency: number;
  pagerdutyRequests: number;
  rateLimited: number;
  rateLimitedShare: number;
  invocations: number;
  coldStarts: number;
  timedOutInvocations: number;
  recordsHandedBack: number;
  deadLetterReasons: Record<string, number>;
  timeToPageSeconds: { critical?: Percentiles; high?: Percentiles };
  handlerCpuMicrosPerFinding: number;
  settings: {
    eventsPerMinute: number;
    batchSize: number;
    maximumConcurrency: number;
    functionTimeoutSeconds: number;
    visibilityTimeoutSeconds: number;
    maxReceiveCount: number;
    lanes: Lane[];
  };
  wallSeconds: number;
}

export interface BenchRun {
  report: BenchReport;
  /** Virtual seconds since the first arrival at which each finding was first accepted, in order. */
  deliveries: number[];
  critical: { arrival: number; accepted: number | undefined }[];
}

const PAGERDUTY_LIMIT_PER_MINUTE = 120;
const START = Date.UTC(2026, 0, 5, 9, 0, 0);
// PagerDuty answers in about a tenth to a quarter of a second.
const PAGERDUTY_LATENCY_MS = { min: 80, spread: 170 };
// Long enough for any scenario to finish; what is not accounted for by then is lost.
const VIRTUAL_HORIZON_MS = 24 * 3600 * 1000;

function routingKeyFor(account: number): string {
  return `${accountId(account)}00000000000000000000`.slice(0, 32);
}

function percentiles(values: number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (share: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? 0;
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

export async function runBench(options: BenchOptions): Promise<BenchRun> {
  const wallStart = Date.now();
  const config = readStackConfig(mapConfigSource(planSettings(options.stack, options.config).settings));
  const plan = deliveryPlan(config.delivery);
  const rules = planRules(config.filter, {
    resolveRule: config.resolveRule,
    priorityLanes: config.priorityLanes,
  });
  const lanes = lanesOf(rules);
  const time = createVirtualTime(START);
  const random = seededRandom(options.seed);
  const burstLimitMs = (options.findings / (PAGERDUTY_LIMIT_PER_MINUTE * options.keys)) * 60_000;
  const scenario = buildScenario(options.scenario, options.findings, options.keys, START, burstLimitMs);
  const keys = Array.from({ length: options.keys }, (_, account) => routingKeyFor(account));
  const model = createPagerDutyModel({ routingKeys: keys, now: time.now });

  let requests = 0;
  const firstAccepted = new Map<string, number>();
  const transport: Transport = async ({ body, signal }) => {
    requests += 1;
    await time.clock.sleep(PAGERDUTY_LATENCY_MS.min + random() * PAGERDUTY_LATENCY_MS.spread, signal);
    if (signal.aborted) throw new Error("aborted");
    const fault = scenario.pagerdutyFault(time.now() - START, random);
    if (fault?.kind === "timeout") {
      await time.clock.sleep(VIRTUAL_HORIZON_MS, signal);
      throw new Error("aborted");
    }
    if (fault?.kind === "status") return { status: fault.status, body: '{"status":"error"}' };
    const answer = model.receive(body);
    if (answer.status === 202) {
      const event = JSON.parse(body) as { event_action: string; dedup_key: string };
      if (event.event_action === "trigger" && !firstAccepted.has(event.dedup_key))
        firstAccepted.set(event.dedup_key, time.now());
    }
    return answer;
  };

  // The function's settings in each account's stack, as the program deploys them.
  const settingsFor = (account: number) =>
    functionSettings({
      parameterName: config.parameterName,
      pagerDutyRegion: config.pagerDutyRegion,
      filter: config.filter,
      plan,
      deadLetterQueueUrl: `https://sqs.us-east-1.amazonaws.com/${accountId(account)}/dead-letters`,
      stateTable: "delivery-state",
    });
  const deployments = keys.map(
    (routingKey, account) =>
      new Deployment({
        name: `account-${accountId(account)}`,
        time,
        random,
        routingKey,
        settings: settingsFor(account),
        plan,
        lanes,
        transport,
        ssmFault: () =>
          scenario.ssmThrottled(time.now() - START)
            ? new AwsError("ThrottlingException", "Rate exceeded")
            : undefined,
      }),
  );

  // The lanes EventBridge puts each record in, by the stack's own rules; broken records go straight to a queue.
  const lanesFor = new Map(
    scenario.arrivals.map((arrival) => {
      if (!arrival.viaRules) return [arrival, [lanes[lanes.length - 1] as Lane]] as const;
      const event = JSON.parse(arrival.body) as unknown;
      return [
        arrival,
        [...new Set(rules.filter((rule) => matchesPattern(rule.pattern, event)).map((rule) => rule.lane))],
      ] as const;
    }),
  );
  // Findings the stack's rules do not admit never reach the function: neither delivered nor lost.
  const expected = scenario.arrivals.filter((arrival) => (lanesFor.get(arrival) ?? []).length > 0);
  const filteredOut = scenario.arrivals.length - expected.length;
  const arrivalTimes = new Map<string, number>();
  const route = (arrival: Arrival) => {
    const deployment = deployments[arrival.account] as Deployment;
    if (arrival.finding !== undefined) arrivalTimes.set(arrival.finding.dedupKey, time.now());
    for (const lane of lanesFor.get(arrival) ?? []) deployment.deliver(lane, arrival.body);
  };
  for (const arrival of expected) time.at(START + arrival.at, () => route(arrival));

  const valid = expected.filter((arrival) => arrival.finding !== undefined);
  const deadLetterCount = () =>
    deployments.reduce((total, deployment) => total + deployment.deadLetters.size, 0);
  await time.run(
    () =>
      firstAccepted.size + deadLetterCount() >= expected.length || time.now() - START > VIRTUAL_HORIZON_MS,
  );

  const deadLetters = deployments.flatMap((deployment) => deployment.deadLetters.all());
  const deadLetterBodies = new Set(deadLetters.map((letter) => letter.body));
  const deadLetterReasons: Record<string, number> = {};
  for (const letter of deadLetters) {
    // Reasons grouped by kind: the numbers and ARNs that differ from record to record are left out.
    const reason = (letter.attributes.reason ?? "no reason").replace(/arn:\S+/g, "ARN").replace(/\d+/g, "N");
    deadLetterReasons[reason] = (deadLetterReasons[reason] ?? 0) + 1;
  }
  const delivered = valid.filter((arrival) => firstAccepted.has(arrival.finding?.dedupKey ?? "")).length;
  const lost = expected.filter(
    (arrival) => !firstAccepted.has(arrival.finding?.dedupKey ?? "") && !deadLetterBodies.has(arrival.body),
  ).length;
  const firstArrival = START + Math.min(...expected.map((arrival) => arrival.at));
  const lastAccepted = Math.max(firstArrival, ...firstAccepted.values());
  const makespanSeconds = (lastAccepted - firstArrival) / 1000;
  // The physical limit for what should reach PagerDuty: broken records never do.
  const limitSeconds = (valid.length / (PAGERDUTY_LIMIT_PER_MINUTE * options.keys)) * 60;
  const timeToPage = (severity: string) =>
    percentiles(
      valid
        .filter((arrival) => arrival.finding?.severity === severity)
        .map((arrival) => arrival.finding?.dedupKey ?? "")
        .filter((key) => firstAccepted.has(key))
        .map((key) => ((firstAccepted.get(key) ?? 0) - (arrivalTimes.get(key) ?? 0)) / 1000),
    );
  const counts = model.counts();
  const stats = deployments.map((deployment) => deployment.stats);
  const sum = (pick: (stat: (typeof stats)[number]) => number) =>
    stats.reduce((total, stat) => total + pick(stat), 0);
  const critical = timeToPage("CRITICAL");
  const high = timeToPage("HIGH");

  const report: BenchReport = {
    scenario: options.scenario,
    stack: options.stack,
    priorityLanes: config.priorityLanes,
    findings: scenario.arrivals.length,
    filteredOut,
    keys: options.keys,
    delivered,
    deadLettered: deadLetters.length,
    lost,
    makespanSeconds: Math.round(makespanSeconds * 10) / 10,
    limitSeconds: Math.round(limitSeconds * 10) / 10,
    efficiency: Math.round((limitSeconds / makespanSeconds) * 1000) / 1000,
    pagerdutyRequests: requests,
    rateLimited: counts.rateLimited,
    rateLimitedShare: Math.round((counts.rateLimited / Math.max(1, requests)) * 10000) / 10000,
    invocations: sum((stat) => stat.invocations),
    coldStarts: sum((stat) => stat.coldStarts),
    timedOutInvocations: sum((stat) => stat.timedOut),
    recordsHandedBack: sum((stat) => stat.handedBack),
    deadLetterReasons,
    timeToPageSeconds: {
      ...(critical === undefined ? {} : { critical }),
      ...(high === undefined ? {} : { high }),
    },
    handlerCpuMicrosPerFinding: await handlerCpuPerFinding(valid, settingsFor(0)),
    settings: {
      eventsPerMinute: plan.eventsPerMinute,
      batchSize: plan.batchSize,
      maximumConcurrency: plan.maximumConcurrency,
      functionTimeoutSeconds: plan.functionTimeoutSeconds,
      visibilityTimeoutSeconds: plan.visibilityTimeoutSeconds,
      maxReceiveCount: plan.maxReceiveCount,
      lanes,
    },
    wallSeconds: 0,
  };
  report.wallSeconds = Math.round((Date.now() - wallStart) / 100) / 10;
  return {
    report,
    deliveries: [...firstAccepted.values()].sort((a, b) => a - b).map((at) => (at - firstArrival) / 1000),
    critical: valid
      .filter((arrival) => arrival.finding?.severity === "CRITICAL")
      .map((arrival) => {
        const accepted = firstAccepted.get(arrival.finding?.dedupKey ?? "");
        return {
          arrival: arrival.at / 1000,
          accepted: accepted === undefined ? undefined : (accepted - firstArrival) / 1000,
        };
      }),
  };
}

/**
 * Real CPU time the handler spends per finding (mapping, delivery client, pacing, retries), measured apart from
 * the simulation: the same findings through one handler with instant answers, minus the PagerDuty model's time.
 */
async function handlerCpuPerFinding(arrivals: Arrival[], settings: HandlerSettings): Promise<number> {
  if (arrivals.length === 0) return 0;
  const key = routingKeyFor(0);
  const model = createPagerDutyModel({ ratePerMinute: Number.MAX_SAFE_INTEGER });
  let modelMicros = 0;
  const transport: Transport = ({ body }) => {
    const started = process.cpuUsage();
    const answer = model.receive(body);
    const used = process.cpuUsage(started);
    modelMicros += used.user + used.system;
    return Promise.resolve(answer);
  };
  // The deployed settings, unpaced: this measures the handler's own work, not its waits.
  const handler = createHandler(
    { ...settings, eventsPerMinute: Number.MAX_SAFE_INTEGER },
    {
      clock: systemClock,
      random: Math.random,
      transport,
      readParameter: () => Promise.resolve(key),
      pacingStore: createMemoryPacingStore(),
      resolutionLedger: createMemoryResolutionLedger(),
      deadLetter: undefined,
      log: silentLogger,
    },
  );
  const started = process.cpuUsage();
  for (let index = 0; index < arrivals.length; index += 10) {
    const records = arrivals
      .slice(index, index + 10)
      .map((arrival, offset) => ({ messageId: String(index + offset), body: arrival.body }));
    await handler({ Records: records });
  }
  const used = process.cpuUsage(started);
  return Math.round(((used.user + used.system - modelMicros) / arrivals.length) * 10) / 10;
}

function formatTable(report: BenchReport): string {
  const rows: [string, string][] = [
    [
      "scenario",
      `${report.scenario} (stack ${report.stack}, priority lanes ${report.priorityLanes ? "on" : "off"}: ${report.settings.lanes.join(", ")})`,
    ],
    ["findings", String(report.findings)],
    ["filteredOut", `${report.filteredOut} (not admitted by the stack's rules)`],
    ["keys", String(report.keys)],
    ["delivered", String(report.delivered)],
    ["deadLettered", String(report.deadLettered)],
    ["lost", String(report.lost)],
    ["makespanSeconds", report.makespanSeconds.toFixed(1)],
    ["limitSeconds", report.limitSeconds.toFixed(1)],
    ["efficiency", report.efficiency.toFixed(3)],
    ["pagerdutyRequests", String(report.pagerdutyRequests)],
    ["rateLimited", `${report.rateLimited} (${(report.rateLimitedShare * 100).toFixed(2)}% of requests)`],
    [
      "invocations",
      `${report.invocations} (${report.coldStarts} cold starts, ${report.timedOutInvocations} timed out)`,
    ],
    ["recordsHandedBack", String(report.recordsHandedBack)],
    ["handlerCpuMicrosPerFinding", report.handlerCpuMicrosPerFinding.toFixed(1)],
  ];
  for (const [severity, figures] of Object.entries(report.timeToPageSeconds)) {
    rows.push([
      `timeToPage ${severity}`,
      `p50 ${figures.p50} s, p99 ${figures.p99} s, max ${figures.max} s (${figures.count} findings)`,
    ]);
  }
  for (const [reason, count] of Object.entries(report.deadLetterReasons))
    rows.push(["deadLetter reason", `${count} × ${reason}`]);
  rows.push(["wallSeconds", report.wallSeconds.toFixed(1)]);
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n");
}

const USAGE = `usage: npm run bench -- [--findings N] [--keys K] [--scenario NAME] [--json] [--svg FILE]
                        [--stack NAME] [--no-priority] [--config KEY=VALUE]... [--seed N]
  --scenario  ${SCENARIOS.join(", ")} (default burst)
  --findings  findings in the burst (default 5000)
  --keys      accounts, each with its own stack and routing key (default 1)
  --stack     whose Pulumi.NAME.yaml settings are simulated (default prod)
  --no-priority  the same stack with priorityLanes false`;

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`--${name} "${raw}" is not a positive whole number`);
  return value;
}

if (require.main === module) {
  runTool("bench", async () => {
    const { values } = parseArgs({
      options: {
        findings: { type: "string" },
        keys: { type: "string" },
        scenario: { type: "string" },
        stack: { type: "string" },
        json: { type: "boolean" },
        svg: { type: "string" },
        "no-priority": { type: "boolean" },
        config: { type: "string", multiple: true },
        seed: { type: "string" },
        help: { type: "boolean" },
      },
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const scenario = (values.scenario ?? "burst") as ScenarioName;
    if (!SCENARIOS.includes(scenario))
      throw new UsageError(`--scenario "${scenario}" is not one of ${SCENARIOS.join(", ")}`);
    const config = configPairs(values.config);
    if (values["no-priority"] === true) config.priorityLanes = "false";
    const run = await runBench({
      scenario,
      findings: positiveInteger("findings", values.findings, 5000),
      keys: positiveInteger("keys", values.keys, 1),
      stack: values.stack ?? "prod",
      config,
      seed: positiveInteger("seed", values.seed, 1),
    });
    if (values.svg !== undefined) writeFileSync(values.svg, renderSvg(run));
    process.stdout.write(
      values.json === true ? `${JSON.stringify(run.report)}\n` : `${formatTable(run.report)}\n`,
    );
  });
}
