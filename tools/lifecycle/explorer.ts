import fc from "fast-check";
import type { Lane } from "../../infra/eventPatterns";
import type { Condition } from "./findings";
import { alertPerStack, checkInvariants, type AlertKeyOf } from "./invariants";
import { LifecycleWorld, explorerStack, type PagerDutyFault, type Stack } from "./world";

// The interleaving explorer: fast-check draws a sequence of steps (imports, routing, invocations, faults, a
// responder's actions, webhook deliveries) and, through its scheduler, the order in which the pending service calls
// of concurrent invocations complete. After the steps the world is settled and the invariants checked; a failing
// run is shrunk to a short sequence and a short interleaving, and its trace printed.

/** What the explorer may do; each can be turned off to explore the rest. */
export const BEHAVIOURS = [
  /** EventBridge delivers waiting events in any order (a finding's older UpdatedAt arrives after a newer one). */
  "outOfOrder",
  /** The finding that arrives in both feeds (OCSF and its ASFF copy). */
  "bothFeeds",
  /** Severity changes to one below the stack's filter while the finding still fails. */
  "belowFilter",
  "pagerduty429",
  "pagerduty5xx",
  /** A request PagerDuty never answers, before it or after it accepted the event. */
  "pagerdutyTimeout",
  "securityHubThrottling",
  /** An invocation abandoned mid-way (a Lambda timeout or crash): its pending calls never return. */
  "lambdaTimeout",
  /**
   * PagerDuty's webhook subscription delivers incident events to the webhook function; without it no webhook is
   * sent, and a responder, webhook retries, replays and secret rotation are not explored either.
   */
  "webhooks",
  /** A responder acknowledges, resolves, reopens in PagerDuty. */
  "responder",
  /** PagerDuty's webhook deliveries in any order, retried while earlier attempts still run. */
  "webhookRetries",
  /** A delivered webhook delivered again. */
  "webhookReplays",
  "secretRotation",
  /** A person sets the workflow in the Security Hub console (SUPPRESSED, RESOLVED: the same UpdatedAt). */
  "console",
] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];
const WEBHOOK_BEHAVIOURS: readonly Behaviour[] = [
  "responder",
  "webhookRetries",
  "webhookReplays",
  "secretRotation",
];

export type Step =
  /** A scan imports a finding; EventBridge puts its events in their lanes at once, or (delayed) later. */
  | { do: "import"; finding: number; condition: Condition; delayed: boolean }
  | { do: "route"; pick: number }
  | { do: "invoke"; lane: Lane; batch: number }
  | { do: "advance"; ms: number }
  | { do: "abandon"; pick: number }
  | { do: "pagerdutyFault"; fault: PagerDutyFault; count: number }
  | { do: "throttleSecurityHub"; count: number }
  | { do: "respond"; finding: number; action: "acknowledge" | "resolve" | "reopen" }
  | { do: "webhook"; pick: number; replay: boolean }
  | { do: "rotateSecret" }
  | { do: "setWorkflow"; finding: number; workflow: "SUPPRESSED" | "RESOLVED" };

export interface ExploreOptions {
  runs: number;
  seed?: number;
  /** fast-check's path to one run (printed with a failure): replays exactly that run. */
  path?: string;
  behaviours?: readonly Behaviour[];
  maxSteps?: number;
  /** Configuration of the explored stack, over Pulumi.prod.yaml (e.g. functionTimeoutSeconds). */
  config?: Record<string, string>;
  alertKeyOf?: AlertKeyOf;
  /** The trace also shows the functions' log lines and every write of an alert's state (to read a replay). */
  logs?: boolean;
}

export interface ExploreReport {
  runs: number;
  violations: number;
  seed: number;
  behaviours: readonly Behaviour[];
  /** The configuration explored, over Pulumi.prod.yaml. */
  config: Record<string, string>;
  /** With a violation: how to replay it, what broke, the shrunk steps and what happened. */
  path?: string;
  invariants?: string[];
  steps?: string[];
  trace?: string[];
}

export function stepArbitrary(stack: Stack, behaviours: readonly Behaviour[]): fc.Arbitrary<Step> {
  const on = (behaviour: Behaviour) =>
    behaviours.includes(behaviour) &&
    (!WEBHOOK_BEHAVIOURS.includes(behaviour) || behaviours.includes("webhooks"));
  // Most steps are about one finding, so that its events meet.
  const finding = on("bothFeeds") ? fc.constantFrom(0, 0, 0, 1, 2) : fc.constantFrom(0, 0, 0, 1);
  const asffFinding = fc.constantFrom(0, 0, 1);
  const severities = on("belowFilter")
    ? (["CRITICAL", "HIGH", "MEDIUM"] as const)
    : (["CRITICAL", "HIGH"] as const);
  const condition: fc.Arbitrary<Condition> = fc.oneof(
    fc.constantFrom(...severities).map((severity) => ({ kind: "failing" as const, severity })),
    fc.constant({ kind: "passed" as const }),
    fc.constant({ kind: "archived" as const }),
  );
  const faults: PagerDutyFault[] = [
    ...(on("pagerduty429") ? (["429"] as const) : []),
    ...(on("pagerduty5xx") ? (["500"] as const) : []),
    ...(on("pagerdutyTimeout") ? (["timeout", "lostAnswer"] as const) : []),
  ];
  const steps: fc.WeightedArbitrary<Step>[] = [
    {
      weight: 4,
      arbitrary: fc.record({
        do: fc.constant("import" as const),
        finding,
        condition,
        delayed: on("outOfOrder") ? fc.boolean() : fc.constant(false),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        do: fc.constant("invoke" as const),
        lane: fc.constantFrom(...stack.lanes),
        batch: fc.integer({ min: 1, max: 3 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        do: fc.constant("advance" as const),
        ms: fc.constantFrom(0, 0, 50, 1_000, 6_000, 20_000, 61_000, 400_000),
      }),
    },
  ];
  const add = (arbitrary: fc.Arbitrary<Step>, weight = 1) => steps.push({ arbitrary, weight });
  if (on("outOfOrder")) add(fc.record({ do: fc.constant("route" as const), pick: fc.nat({ max: 4 }) }));
  if (faults.length > 0)
    add(
      fc.record({
        do: fc.constant("pagerdutyFault" as const),
        fault: fc.constantFrom(...faults),
        count: fc.integer({ min: 1, max: 3 }),
      }),
    );
  if (on("lambdaTimeout")) add(fc.record({ do: fc.constant("abandon" as const), pick: fc.nat({ max: 3 }) }));
  if (on("securityHubThrottling"))
    add(
      fc.record({ do: fc.constant("throttleSecurityHub" as const), count: fc.integer({ min: 1, max: 6 }) }),
    );
  if (on("responder"))
    add(
      fc.record({
        do: fc.constant("respond" as const),
        finding,
        action: fc.constantFrom("acknowledge" as const, "resolve" as const, "reopen" as const),
      }),
      2,
    );
  if (on("webhookRetries") || on("webhookReplays"))
    add(
      fc.record({
        do: fc.constant("webhook" as const),
        pick: on("webhookRetries") ? fc.nat({ max: 3 }) : fc.constant(0),
        replay: on("webhookReplays") ? fc.boolean() : fc.constant(false),
      }),
      2,
    );
  if (on("secretRotation")) add(fc.constant({ do: "rotateSecret" as const }));
  if (on("console"))
    add(
      fc.record({
        do: fc.constant("setWorkflow" as const),
        finding: asffFinding,
        workflow: fc.constantFrom("SUPPRESSED" as const, "RESOLVED" as const),
      }),
    );
  return fc.oneof(...steps);
}

/**
 * fc.scheduler(), whose every copy draws the same interleaving. fast-check gives each shrink candidate a copy of the
 * failing run's scheduler, but its own copies share one random stream (fast-check 4.10: a copy's draws advance the
 * next copy's), so each candidate ran a different interleaving than its path gives in a fresh process, where no
 * earlier candidate ran: the printed path then replayed a passing run. Each copy here starts from the stream the
 * first run began with; the first run draws what fc.scheduler() drew, so a seed explores the same runs as before.
 */
class ReplayableScheduler extends fc.Arbitrary<fc.Scheduler> {
  private readonly scheduler = fc.scheduler();

  generate(random: fc.Random, biasFactor: number | undefined): fc.Value<fc.Scheduler> {
    const source = random.clone();
    const copy = (): fc.Scheduler => {
      const scheduler = this.scheduler.generate(source.clone(), biasFactor).value;
      Object.defineProperty(scheduler, fc.cloneMethod, { value: copy, configurable: true });
      return scheduler;
    };
    return new fc.Value(copy(), undefined);
  }

  canShrinkWithoutContext(_value: unknown): _value is fc.Scheduler {
    return false;
  }

  shrink(): fc.Stream<fc.Value<fc.Scheduler>> {
    return fc.Stream.nil();
  }
}

async function apply(world: LifecycleWorld, step: Step): Promise<void> {
  switch (step.do) {
    case "import":
      world.importFinding(step.finding, step.condition);
      if (!step.delayed) world.routeAll();
      return;
    case "route":
      return world.route(step.pick);
    case "invoke":
      return world.invoke(step.lane, step.batch);
    case "advance":
      return world.advance(step.ms);
    case "abandon":
      return world.abandon(step.pick);
    case "pagerdutyFault":
      return world.pagerdutyFault(step.fault, step.count);
    case "throttleSecurityHub":
      return world.throttleSecurityHub(step.count);
    case "respond":
      return world.respond(step.finding, step.action);
    case "webhook":
      return world.deliverWebhook(step.pick, step.replay);
    case "rotateSecret":
      return world.rotateSecret();
    case "setWorkflow":
      return world.setWorkflow(step.finding, step.workflow);
  }
}

export function describeStep(world: LifecycleWorld, step: Step): string {
  const name = (index: number) =>
    world.subjects[index % world.subjects.length]?.subject.name ?? String(index);
  switch (step.do) {
    case "import": {
      const { condition } = step;
      return `import ${name(step.finding)} ${condition.kind === "failing" ? `failing ${condition.severity}` : condition.kind}${step.delayed ? " (its events delayed)" : ""}`;
    }
    case "respond":
      return `responder ${step.action}s ${name(step.finding)}`;
    case "setWorkflow":
      return `console sets ${name(step.finding)} ${step.workflow}`;
    default: {
      const { do: what, ...rest } = step;
      const details = Object.entries(rest).map(([key, value]) => `${key}=${String(value)}`);
      return [what, ...details].join(" ");
    }
  }
}

/**
 * One run: the steps, then settled (every queue drained and redelivered) and checked, then the next scan imported,
 * settled again and checked again.
 */
export async function runOnce(
  stack: Stack,
  steps: Step[],
  scheduler: fc.Scheduler,
  seed: number,
  options: { webhooks: boolean; alertKeyOf?: AlertKeyOf; logs?: boolean },
): Promise<{ violations: string[]; world: LifecycleWorld }> {
  const { webhooks, alertKeyOf } = options;
  const world = new LifecycleWorld(scheduler, stack, seed, webhooks, options.logs === true);
  for (const step of steps) {
    world.log(`step: ${describeStep(world, step)}`);
    await apply(world, step);
  }
  world.log("settling");
  if (!(await world.settle()))
    return {
      violations: ["the world did not settle: records or webhooks still moving after 40 rounds"],
      world,
    };
  const settled = checkInvariants(world.observe(), "settled", alertKeyOf);
  if (settled.length > 0) return { violations: settled, world };
  world.rescan();
  world.log("rescan: the next scan imports every finding again");
  if (!(await world.settle())) return { violations: ["the world did not settle after the rescan"], world };
  const violations = checkInvariants(world.observe(), "rescanned", alertKeyOf).map(
    (violation) => `after the rescan: ${violation}`,
  );
  return { violations, world };
}

export async function explore(options: ExploreOptions): Promise<ExploreReport> {
  const behaviours = options.behaviours ?? BEHAVIOURS;
  const stack = explorerStack(options.config);
  let failure: { violations: string[]; steps: string[]; trace: string[] } | undefined;
  const property = fc.asyncProperty(
    fc.array(stepArbitrary(stack, behaviours), { maxLength: options.maxSteps ?? 24, size: "max" }),
    new ReplayableScheduler(),
    fc.nat(),
    async (steps, scheduler, seed) => {
      const { violations, world } = await runOnce(stack, steps, scheduler, seed, {
        webhooks: behaviours.includes("webhooks"),
        alertKeyOf: options.alertKeyOf ?? alertPerStack,
        logs: options.logs === true,
      });
      if (violations.length === 0) return true;
      // The last failing run fast-check executes is the shrunk counterexample it reports.
      failure = { violations, steps: steps.map((step) => describeStep(world, step)), trace: world.trace };
      return false;
    },
  );
  const details = await fc.check(property, {
    numRuns: options.runs,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  const report: ExploreReport = {
    runs: details.numRuns,
    violations: details.failed ? (failure?.violations.length ?? 1) : 0,
    seed: details.seed,
    behaviours,
    config: options.config ?? {},
  };
  if (!details.failed) return report;
  return {
    ...report,
    ...(details.counterexamplePath === null ? {} : { path: details.counterexamplePath }),
    invariants: failure?.violations ?? [String(details.errorInstance)],
    steps: failure?.steps ?? [],
    trace: failure?.trace ?? [],
  };
}
