import { cpSync, mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { parseArgs } from "util";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config";
import { UsageError, configPairs, runTool } from "./cli";
import { isSecretValue, runProgram, type RecordedLookup, type RecordedResource } from "./mockEngine";
import { loadStackSettings, placeholderFor, type StackSettings } from "./stackConfig";

export interface PlannedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const FUNCTION_TYPE = "aws:lambda/function:Function";

/** Inputs as they can be shown: secrets as [secret], the function's archive as its files and sizes. */
async function presentable(value: unknown): Promise<unknown> {
  if (isSecretValue(value)) return "[secret]";
  if (value instanceof pulumi.asset.AssetArchive) {
    const assets = await value.assets;
    const files: Record<string, string> = {};
    for (const [name, asset] of Object.entries(assets)) {
      files[name] =
        asset instanceof pulumi.asset.StringAsset ? `${Buffer.byteLength(await asset.text)} bytes` : "asset";
    }
    return { archive: files };
  }
  if (Array.isArray(value)) return Promise.all((value as unknown[]).map(presentable));
  if (typeof value === "object" && value !== null) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([key, inner]) => [key, await presentable(inner)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

export async function planResources(run: RecordedResource[]): Promise<PlannedResource[]> {
  return Promise.all(
    run.map(async ({ type, name, inputs }) => ({
      type,
      name,
      inputs: (await presentable(inputs)) as Record<string, unknown>,
    })),
  );
}

/** Writes a function's archive into `directory` as the program declares it: its code and the packages it ships. */
export async function writeFunctionArchive(resource: RecordedResource, directory: string): Promise<void> {
  const code = resource.inputs.code;
  if (!(code instanceof pulumi.asset.AssetArchive)) throw new Error(`${resource.name} has no archive`);
  for (const [name, asset] of Object.entries(await code.assets)) {
    const target = join(directory, name);
    if (asset instanceof pulumi.asset.StringAsset) {
      mkdirSync(join(target, ".."), { recursive: true });
      writeFileSync(target, await asset.text);
    } else if (asset instanceof pulumi.asset.FileArchive || asset instanceof pulumi.asset.FileAsset) {
      cpSync(await asset.path, target, { recursive: true });
    } else {
      throw new Error(`${resource.name}: archive entry ${name} is of a kind this tool does not copy`);
    }
  }
}

/** The entries of a function's archive: its serialized code, and the packages it ships beside it. */
export async function archiveEntries(resource: RecordedResource): Promise<string[]> {
  const code = resource.inputs.code;
  if (!(code instanceof pulumi.asset.AssetArchive)) throw new Error(`${resource.name} has no archive`);
  return Object.keys(await code.assets).sort();
}

/** The stack's settings, with a placeholder token where none is stored (it is set with pulumi config set --secret). */
export function planSettings(
  stack: string,
  overrides: Record<string, string>,
): { settings: StackSettings; notes: string[] } {
  const settings = loadStackSettings(stack, overrides);
  const notes: string[] = [];
  const usesExistingKey = settings.values["electriceye-pagerduty:existingRoutingKey"] !== undefined;
  if (!usesExistingKey && settings.values["pagerduty:token"] === undefined) {
    settings.values["pagerduty:token"] = placeholderFor("pagerduty:token");
    settings.secretKeys.push("pagerduty:token");
    notes.push(
      `pagerduty:token is not in Pulumi.${stack}.yaml (set it with: pulumi config set --secret pagerduty:token <token>); planned with a placeholder`,
    );
  }
  return { settings, notes };
}

// The schedule the example stacks name, which no real PagerDuty account need have.
const EXAMPLE_SCHEDULES = ["Security On-Call"];
// Domains reserved for documentation (RFC 2606): nobody receives mail there.
const EXAMPLE_DOMAIN = /@(?:[\w-]+\.)*example\.(?:com|net|org)$|@[\w.-]+\.example$/i;

/** Settings that are still the example stacks' placeholders: the plan passes with them, pulumi up would not. */
export function placeholders(settings: StackSettings): string[] {
  const list = (key: string): string[] => {
    const raw = settings.values[`electriceye-pagerduty:${key}`];
    if (raw === undefined) return [];
    const parsed = raw.startsWith("[") ? (JSON.parse(raw) as unknown) : raw;
    return Array.isArray(parsed) ? parsed.map(String) : [String(parsed)];
  };
  return [
    ...["escalationUserEmails", "alarmEmail"].flatMap((key) =>
      list(key)
        .filter((email) => EXAMPLE_DOMAIN.test(email))
        .map((email) => `${key} ${email}: an address of a documentation domain, nobody gets mail there`),
    ),
    ...list("escalationScheduleNames")
      .filter((name) => EXAMPLE_SCHEDULES.includes(name))
      .map(
        (name) =>
          `escalationScheduleNames "${name}": the example's schedule; name one of your PagerDuty account`,
      ),
  ];
}

/** What the mock engine answered that only pulumi up looks up for real. */
export function lookupsOnlyAtUp(lookups: RecordedLookup[]): string[] {
  const described = lookups.map(({ token, inputs }) => {
    switch (token) {
      case "pagerduty:index/getUser:getUser":
        return `PagerDuty user ${String(inputs.email)} (must exist in your PagerDuty account)`;
      case "pagerduty:index/getSchedule:getSchedule":
        return `PagerDuty schedule "${String(inputs.name)}" (must exist in your PagerDuty account)`;
      case "pagerduty:index/getVendor:getVendor":
        return `PagerDuty's vendor "${String(inputs.name)}" for the alarm integration`;
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return "the AWS account of your credentials (planned as 111122223333)";
      case "aws:index/getPartition:getPartition":
        return "the AWS partition (planned as aws)";
      case "aws:index/getRegion:getRegion":
        return "the Region as the provider resolves it";
      default:
        return token;
    }
  });
  return [...new Set(described)];
}

function formatHuman(
  stack: string,
  resources: PlannedResource[],
  flagged: string[],
  lookedUp: string[],
): string {
  const lines = [
    `Offline plan for stack "${stack}" (the real program under Pulumi's mock engine): ${resources.length} resources`,
    "",
  ];
  for (const resource of resources) {
    lines.push(`+ ${resource.type}  ${resource.name}`);
    for (const [key, value] of Object.entries(resource.inputs)) {
      if (key.startsWith("__")) continue;
      lines.push(`    ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
    }
  }
  const byType = new Map<string, number>();
  for (const { type } of resources) byType.set(type, (byType.get(type) ?? 0) + 1);
  lines.push("", `By type (${resources.length} resources):`);
  for (const [type, count] of [...byType].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`  ${String(count).padStart(3)}  ${type}`);
  if (flagged.length > 0) {
    lines.push("", `Still the example's placeholders (pulumi up would fail or nobody would be paged):`);
    for (const line of flagged) lines.push(`  ! ${line}`);
  }
  lines.push("", "Looked up only by pulumi up (the plan used stand-ins):");
  for (const line of lookedUp) lines.push(`  ? ${line}`);
  return lines.join("\n");
}

const USAGE = `usage: npm run plan -- --stack NAME [--json] [--config KEY=VALUE]... [--write-archive DIR]
  --stack          the stack whose Pulumi.NAME.yaml is planned
  --json           one JSON array of {type, name, inputs} on stdout
  --config         a config value for this plan only, as pulumi config set would store it
  --write-archive  write each function's deployment archive into DIR/<resource name>/`;

if (require.main === module) {
  runTool("plan", async () => {
    const { values } = parseArgs({
      options: {
        stack: { type: "string" },
        json: { type: "boolean" },
        config: { type: "string", multiple: true },
        "write-archive": { type: "string" },
        help: { type: "boolean" },
      },
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    if (values.stack === undefined) throw new UsageError(`--stack is required\n${USAGE}`);
    const overrides = configPairs(values.config);
    const { settings, notes } = planSettings(values.stack, overrides);
    for (const note of notes) process.stderr.write(`plan: ${note}\n`);
    let run;
    try {
      run = await runProgram(settings);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
    const resources = await planResources(run.resources);
    const directory = values["write-archive"];
    if (directory !== undefined) {
      for (const fn of run.resources.filter((resource) => resource.type === FUNCTION_TYPE))
        await writeFunctionArchive(fn, join(directory, fn.name));
    }
    if (values.json === true)
      for (const line of placeholders(settings)) process.stderr.write(`plan: still a placeholder: ${line}\n`);
    process.stdout.write(
      values.json === true
        ? `${JSON.stringify(resources, null, 2)}\n`
        : `${formatHuman(values.stack, resources, placeholders(settings), lookupsOnlyAtUp(run.lookups))}\n`,
    );
  });
}
