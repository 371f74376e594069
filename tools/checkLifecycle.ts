import { parseArgs } from "util";
import { UsageError, configPairs, runTool, wholeNumber } from "./cli";
import { BEHAVIOURS, explore, type Behaviour, type ExploreReport } from "./lifecycle/explorer";

// npm run check:lifecycle: the interleaving explorer over the real delivery handler and webhook function
// (docs/lifecycle-explorer.md).

const USAGE = `usage: npm run check:lifecycle -- [--runs N] [--seed S] [--path P] [--steps N]
  [--only B,B...] [--without B,B...] [--config KEY=VALUE ...] [--logs] [--json]
behaviours: ${BEHAVIOURS.join(", ")}`;

function behaviourList(value: string | undefined, name: string): Behaviour[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(",").filter((entry) => entry !== "");
  const unknown = list.filter((entry) => !(BEHAVIOURS as readonly string[]).includes(entry));
  if (unknown.length > 0)
    throw new UsageError(`--${name}: ${unknown.join(", ")} unknown; behaviours are ${BEHAVIOURS.join(", ")}`);
  return list as Behaviour[];
}

function text(report: ExploreReport, config: string[]): string {
  if (report.violations === 0) return `${report.runs} runs, no violation (seed ${report.seed})`;
  return [
    `violation after ${report.runs} runs (seed ${report.seed}, path ${report.path ?? "?"}):`,
    ...(report.invariants ?? []).map((line) => `  ! ${line}`),
    "steps:",
    ...(report.steps ?? []).map((line) => `  ${line}`),
    "trace:",
    ...(report.trace ?? []).map((line) => `  ${line}`),
    `replay: npm run check:lifecycle -- --seed=${report.seed} --path ${report.path ?? ""}${report.behaviours.length < BEHAVIOURS.length ? ` --only ${report.behaviours.join(",")}` : ""}${config.map((pair) => ` --config ${pair}`).join("")}`,
  ].join("\n");
}

runTool("check:lifecycle", async () => {
  const { values } = parseArgs({
    options: {
      runs: { type: "string" },
      seed: { type: "string" },
      path: { type: "string" },
      steps: { type: "string" },
      only: { type: "string" },
      without: { type: "string" },
      config: { type: "string", multiple: true },
      logs: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const without = behaviourList(values.without, "without") ?? [];
  const behaviours = (behaviourList(values.only, "only") ?? [...BEHAVIOURS]).filter(
    (behaviour) => !without.includes(behaviour),
  );
  const report = await explore({
    runs: wholeNumber("runs", values.runs, 1000, 0),
    // fast-check's seeds may be negative, as reports print them.
    ...(values.seed === undefined ? {} : { seed: wholeNumber("seed", values.seed, 0) }),
    ...(values.path === undefined ? {} : { path: values.path }),
    maxSteps: wholeNumber("steps", values.steps, 24, 0),
    behaviours,
    config: configPairs(values.config),
    logs: values.logs === true,
  });
  process.stdout.write(
    `${values.json === true ? JSON.stringify(report, null, 2) : text(report, values.config ?? [])}\n`,
  );
  if (report.violations > 0) process.exitCode = 1;
});
