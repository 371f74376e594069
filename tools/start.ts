import { parseArgs } from "util";
import { readStackConfig } from "../config";
import { configPairs, runTool } from "./cli";
import { planSettings } from "./plan";
import { mapConfigSource } from "./stackConfig";
import { stepsFromFile } from "./walk/steps";
import { walk, walkBuiltIn } from "./walk/walk";

// The whole path on this machine, on a stack's own settings: Security Hub events through the stack's
// EventBridge rules, into its functions (the code that ships), out to local stand-ins of PagerDuty and Security
// Hub, and back. No account, no credentials, nothing leaves the machine.

const USAGE = `usage: npm start -- [--stack dev|prod|org] [--config KEY=VALUE]... [--file FILE] [--json]
  --stack  whose Pulumi.NAME.yaml rules and settings to use (default dev); a stack with routes (org) walks an
           organization's findings to its teams' services
  --config a config value for this run only, as pulumi config set would store it (e.g. findingFormats=both)
  --json   print one JSON document with the counts instead of the walk-through (npm start -s -- --json | jq,
           so that npm prints no banner)
  --metrics  also print the metric lines the functions wrote (CloudWatch embedded metric format)
  --file   your own findings instead of the built-in walk-through: an EventBridge event, a list of events,
           a finding, a list of findings, or a {"Findings": [...]} batch (get-findings or get-findings-v2
           output); ASFF or OCSF findings`;

if (require.main === module) {
  runTool("start", async () => {
    const { values } = parseArgs({
      options: {
        stack: { type: "string" },
        config: { type: "string", multiple: true },
        file: { type: "string" },
        json: { type: "boolean" },
        metrics: { type: "boolean" },
        help: { type: "boolean" },
      },
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const stack = values.stack ?? "dev";
    const config = readStackConfig(mapConfigSource(planSettings(stack, configPairs(values.config)).settings));
    const file = values.file;
    const run = (write: (line: string) => void, metrics: boolean) =>
      file === undefined
        ? walkBuiltIn(config, write, { metrics })
        : walk(config, stepsFromFile(file), write, { metrics });
    if (values.json === true) {
      const result = await run(() => undefined, false);
      process.stdout.write(`${JSON.stringify({ stack, ...result }, null, 2)}\n`);
      return;
    }
    const write = (line: string) => process.stdout.write(`${line}\n`);
    write(
      "electriceye-pagerduty: Security Hub → EventBridge rules → SQS → the function → PagerDuty (→ Security Hub), run locally.",
    );
    await run(write, values.metrics === true);
    if (values.file === undefined) {
      write("");
      write(
        `Next: npm start -- --stack ${stack === "dev" ? "prod" : "dev"}   (${stack === "dev" ? "HIGH pages too, and the two-way sync with Security Hub" : "CRITICAL only, no sync"})`,
      );
      write(
        "      npm start -- --file your-findings.json   (e.g. aws securityhub get-findings > your-findings.json)",
      );
      write(
        "      npm start -- --config findingFormats=both --file your-ocsf-findings.json   (aws securityhub get-findings-v2)",
      );
    }
  });
}
