import { runProgram, type ProgramRun } from "../../tools/mockEngine";
import { planSettings } from "../../tools/plan";

const runs = new Map<string, Promise<ProgramRun>>();

/**
 * The offline plan of a stack (the real program under Pulumi's mock engine), run once per configuration for the
 * whole test run: a plan takes seconds, and the tests only read it.
 */
export function planOf(stack: string, overrides: Record<string, string> = {}): Promise<ProgramRun> {
  const key = JSON.stringify([stack, Object.entries(overrides).sort(([a], [b]) => a.localeCompare(b))]);
  let run = runs.get(key);
  if (run === undefined) {
    run = runProgram(planSettings(stack, overrides).settings);
    runs.set(key, run);
  }
  return run;
}
