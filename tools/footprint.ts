import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parseArgs } from "util";
import { deflateRawSync } from "zlib";
import { configPairs, runTool } from "./cli";
import { runProgram } from "./mockEngine";
import { planSettings, writeFunctionArchive } from "./plan";

// What each function of a stack ships and what its cold start costs: the archive as the program would deploy it
// (bytes, and bytes deflated as a zip stores them), and the time a fresh Node.js process takes to load it and
// answer a first invocation that needs no network, less the time of an empty Node.js process.

const FUNCTION_TYPE = "aws:lambda/function:Function";
const INVOKE = join(__dirname, "..", "test", "support", "invokeArchive.cjs");

function files(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: "utf8" })
    .map((name) => join(directory, name))
    .filter((path) => statSync(path).isFile());
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function timeProcess(args: string[], env: Record<string, string | undefined>): number {
  const started = process.hrtime.bigint();
  execFileSync(process.execPath, args, { env, stdio: "ignore" });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** First invocations that touch no network: an event the function skips, a request the endpoint refuses. */
const FIRST_EVENTS: Record<string, unknown> = {
  "delivery-function": {
    Records: [
      {
        messageId: "m1",
        body: JSON.stringify({
          "detail-type": "Security Hub Insight Results",
          source: "aws.securityhub",
          detail: {},
        }),
        attributes: { ApproximateReceiveCount: "1" },
      },
    ],
  },
  "sync-webhook-function": { requestContext: { http: { method: "GET" } } },
};

export interface Footprint {
  name: string;
  files: number;
  bytes: number;
  deflatedBytes: number;
  coldStartMs: number;
}

export async function measure(
  stack: string,
  overrides: Record<string, string>,
  runs: number,
): Promise<Footprint[]> {
  const { resources } = await runProgram(planSettings(stack, overrides).settings);
  const root = mkdtempSync(join(tmpdir(), "electriceye-pagerduty-footprint-"));
  const results: Footprint[] = [];
  for (const resource of resources.filter((entry) => entry.type === FUNCTION_TYPE)) {
    const directory = join(root, resource.name);
    await writeFunctionArchive(resource, directory);
    const all = files(directory);
    const environment =
      (resource.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {};
    const env = {
      PATH: process.env.PATH,
      NODE_PATH: join(__dirname, "..", "node_modules"),
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...environment,
    };
    const eventFile = join(root, `${resource.name}.json`);
    writeFileSync(eventFile, JSON.stringify(FIRST_EVENTS[resource.name] ?? {}));
    const empty = median(Array.from({ length: runs }, () => timeProcess(["-e", ""], env)));
    const loaded = median(
      Array.from({ length: runs }, () => timeProcess([INVOKE, directory, eventFile], env)),
    );
    results.push({
      name: resource.name,
      files: all.length,
      bytes: all.reduce((total, path) => total + statSync(path).size, 0),
      deflatedBytes: all.reduce((total, path) => total + deflateRawSync(readFileSync(path)).length, 0),
      coldStartMs: Math.round((loaded - empty) * 10) / 10,
    });
  }
  return results;
}

if (require.main === module) {
  runTool("footprint", async () => {
    const { values } = parseArgs({
      options: {
        stack: { type: "string" },
        config: { type: "string", multiple: true },
        runs: { type: "string" },
      },
    });
    const results = await measure(
      values.stack ?? "prod",
      configPairs(values.config),
      Number(values.runs ?? "15"),
    );
    for (const result of results) {
      process.stdout.write(
        `${result.name}: ${result.files} file(s), ${result.bytes} bytes (${result.deflatedBytes} deflated); cold start ${result.coldStartMs} ms over an empty Node.js process (median)\n`,
      );
    }
  });
}
