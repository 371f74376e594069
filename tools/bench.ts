import { writeFileSync } from "fs";
import { parseArgs } from "util";
import { systemClock } from "../handler/clock";
import { createHandler } from "../handler/index";
import { silentLogger } from "../handler/telemetry/log";
import { createMemoryPacingStore } from "../handler/delivery/pacing";
import { createMemoryAlertStore } from "../handler/state/store";
import { createMemoryGroupStore } from "../handler/state/groupStore";
import type { HandlerSettings } from "../handler/settings";
import type { Transport } from "../handler/delivery/pagerduty";
import type { Lane } from "../infra/eventPatterns";
import { createPagerDutyModel } from "../standins/pagerdutyModel";
import { UsageError, configPairs, runTool, wholeNumber } from "./cli";
import {
  START,
  VIRTUAL_HORIZON_MS,
  createHarness,
  percentiles,
  routingKeyFor,
  type Percentiles,
} from "./simulation/harness";
import type { Deployment } from "./simulation/deployment";
import { SCENARIOS, buildScenario, type Arrival, type ScenarioName } from "./simulation/scenarios";
import { RESCAN_FORMATS, formatRescan, runRescan, type RescanFormat } from "./simulation/rescan";
import { renderOrganizationSvg, renderSvg } from "./simulation/svg";
import { ESTATE_FORMATS, type EstateFormat } from "./simulation/organization";
import { formatOrganization, runOrganization } from "./simulation/orgScenario";

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

export async function runBench(options: BenchOptions): Promise<BenchRun> {
  const wallStart = Date.now();
  const burstLimitMs = (options.findings / (PAGERDUTY_LIMIT_PER_MINUTE * options.keys)) * 60_000;
  const scenario = buildScenario(options.scenario, options.findings, options.keys, START, burstLimitMs);
  const harness = createHarness({
    stack: options.stack,
    config: options.config,
    keys: options.keys,
    seed: options.seed,
    pagerdutyFault: scenario.pagerdutyFault,
    ssmThrottled: scenario.ssmThrottled,
  });
  const { config, plan, lanes, time, model, deployments, firstAccepted } = harness;

  // The lanes EventBridge puts each record in, by the stack's own rules; broken records go straight to a queue.
  const lanesFor = new Map(
    scenario.arrivals.map(
      (arrival) =>
        [
          arrival,
          arrival.viaRules
            ? harness.lanesFor(JSON.parse(arrival.body) as unknown)
            : [lanes[lanes.length - 1] as Lane],
        ] as const,
    ),
  );
  // Findings the stack's rules do not admit never reach the function; those below its severity labels reach it
  // through the resolve rule and page nobody: neither is delivered nor lost.
  const admitted = scenario.arrivals.filter((arrival) => (lanesFor.get(arrival) ?? []).length > 0);
  const expected = admitted.filter(
    (arrival) =>
      arrival.finding === undefined || config.filter.severityLabels.includes(arrival.finding.severity),
  );
  const filteredOut = scenario.arrivals.length - expected.length;
  const arrivalTimes = new Map<string, number>();
  const route = (arrival: Arrival) => {
    const deployment = deployments[arrival.account] as Deployment;
    if (arrival.finding !== undefined) arrivalTimes.set(arrival.finding.dedupKey, time.now());
    for (const lane of lanesFor.get(arrival) ?? []) deployment.deliver(lane, arrival.body);
  };
  for (const arrival of admitted) time.at(START + arrival.at, () => route(arrival));

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
    pagerdutyRequests: harness.requests(),
    rateLimited: counts.rateLimited,
    rateLimitedShare: Math.round((counts.rateLimited / Math.max(1, harness.requests())) * 10000) / 10000,
    invocations: sum((stat) => stat.invocations),
    coldStarts: sum((stat) => stat.coldStarts),
    timedOutInvocations: sum((stat) => stat.timedOut),
    recordsHandedBack: sum((stat) => stat.handedBack),
    deadLetterReasons,
    timeToPageSeconds: {
      ...(critical === undefined ? {} : { critical }),
      ...(high === undefined ? {} : { high }),
    },
    handlerCpuMicrosPerFinding: await handlerCpuPerFinding(valid, (deployments[0] as Deployment).settings),
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
  // The deployed settings, unpaced and without the Security Hub write-back (paced to Security Hub's own rate):
  // this measures the handler's own work, not its waits.
  const handler = createHandler(
    { ...settings, eventsPerMinute: Number.MAX_SAFE_INTEGER, securityHubSync: false },
    {
      clock: systemClock,
      random: Math.random,
      transport,
      readParameter: () => Promise.resolve({ value: key }),
      pacingStore: createMemoryPacingStore(),
      alertStore: createMemoryAlertStore(),
      groupStore: createMemoryGroupStore(),
      deadLetter: undefined,
      log: silentLogger,
      writeMetrics: () => undefined,
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
    ["filteredOut", `${report.filteredOut} (below the stack's filter, or not admitted by its rules)`],
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
       npm run bench -- --scenario organization [--accounts N] [--findings-per-account M] [--teams T]
                        [--format asff|ocsf|both] [--stack NAME] [--config KEY=VALUE]... [--seed S]
                        [--json] [--svg FILE]
  --scenario  ${SCENARIOS.join(", ")}, rescan, organization (default burst)
  --findings  findings in the burst (default 5000), or in the estate of rescan (default 20000)
  --format    rescan: asff (ElectricEye's findings, default) or ocsf (the new Security Hub's control
              findings; the run's stack admits OCSF findings of every product); organization: also both
              (Security Hub's control findings in both feeds)
  --accounts, --findings-per-account, --teams
              organization: the organization's size (default 100 accounts, 5000 findings each, 10 teams)
  --keys      accounts, each with its own stack and routing key (default 1)
  --stack     whose Pulumi.NAME.yaml settings are simulated (default prod)
  --no-priority  the same stack with priorityLanes false`;

if (require.main === module) {
  runTool("bench", async () => {
    const { values } = parseArgs({
      options: {
        findings: { type: "string" },
        format: { type: "string" },
        accounts: { type: "string" },
        "findings-per-account": { type: "string" },
        teams: { type: "string" },
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
    const scenario = (values.scenario ?? "burst") as ScenarioName | "rescan" | "organization";
    const config = configPairs(values.config);
    if (values["no-priority"] === true) config.priorityLanes = "false";
    if (values.format !== undefined && scenario !== "rescan" && scenario !== "organization")
      throw new UsageError(`--format applies to the rescan and organization scenarios only`);
    const organizationOnly = ["accounts", "findings-per-account", "teams"] as const;
    const misplaced = organizationOnly.find((name) => values[name] !== undefined);
    if (misplaced !== undefined && scenario !== "organization")
      throw new UsageError(`--${misplaced} applies to the organization scenario only`);
    if (scenario === "organization") {
      if (values.findings !== undefined || values.keys !== undefined)
        throw new UsageError(
          `--${values.findings === undefined ? "keys" : "findings"} does not apply to the organization scenario: its size is --accounts and --findings-per-account`,
        );
      const format = (values.format ?? "asff") as EstateFormat;
      if (!ESTATE_FORMATS.includes(format))
        throw new UsageError(`--format "${format}" is not one of ${ESTATE_FORMATS.join(", ")}`);
      const report = await runOrganization({
        accounts: wholeNumber("accounts", values.accounts, 100, 1),
        findingsPerAccount: wholeNumber("findings-per-account", values["findings-per-account"], 5000, 1),
        teams: wholeNumber("teams", values.teams, 10, 1),
        format,
        stack: values.stack ?? "prod",
        config,
        seed: wholeNumber("seed", values.seed, 1, 1),
      });
      if (values.svg !== undefined) writeFileSync(values.svg, renderOrganizationSvg(report));
      process.stdout.write(
        values.json === true ? `${JSON.stringify(report)}\n` : `${formatOrganization(report)}\n`,
      );
      return;
    }
    if (scenario === "rescan") {
      const format = (values.format ?? "asff") as RescanFormat;
      if (!RESCAN_FORMATS.includes(format))
        throw new UsageError(`--format "${format}" is not one of ${RESCAN_FORMATS.join(", ")}`);
      const report = await runRescan({
        findings: wholeNumber("findings", values.findings, 20_000, 1),
        format,
        stack: values.stack ?? "prod",
        config,
        seed: wholeNumber("seed", values.seed, 1, 1),
      });
      process.stdout.write(
        values.json === true ? `${JSON.stringify(report)}\n` : `${formatRescan(report)}\n`,
      );
      return;
    }
    if (!SCENARIOS.includes(scenario))
      throw new UsageError(
        `--scenario "${scenario}" is not one of ${SCENARIOS.join(", ")}, rescan, organization`,
      );
    const run = await runBench({
      scenario,
      findings: wholeNumber("findings", values.findings, 5000, 1),
      keys: wholeNumber("keys", values.keys, 1, 1),
      stack: values.stack ?? "prod",
      config,
      seed: wholeNumber("seed", values.seed, 1, 1),
    });
    if (values.svg !== undefined) writeFileSync(values.svg, renderSvg(run));
    process.stdout.write(
      values.json === true ? `${JSON.stringify(run.report)}\n` : `${formatTable(run.report)}\n`,
    );
  });
}
