import { readFileSync } from "fs";
import { readDocument, type DocumentReading } from "../handler/finding/events";
import { parseJson } from "../handler/finding/json";

/** Thrown for what the user got wrong; the tool prints its message alone, without a stack trace. */
export class UsageError extends Error {}

/** Runs a command-line tool: a UsageError (or any error) becomes one line on stderr and exit code 1. */
export function runTool(name: string, main: () => Promise<void> | void): void {
  Promise.resolve()
    .then(main)
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${name}: ${message}\n`);
      if (!(error instanceof UsageError) && process.env.DEBUG !== undefined) console.error(error);
      process.exitCode = 1;
    });
}

/** Reads and parses a JSON file, or standard input for "-". */
export function readJsonInput(path: string): unknown {
  let text: string;
  try {
    text = path === "-" ? readFileSync(0, "utf8") : readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : String(code ?? error);
    throw new UsageError(`cannot read ${path}: ${why}`);
  }
  const parsed = parseJson(text);
  if (!parsed.ok)
    throw new UsageError(`${path === "-" ? "standard input" : path} is not valid JSON: ${parsed.reason}`);
  return parsed.value;
}

/** A whole-number option, or its default when absent; `least`, when given, is the smallest allowed. */
export function wholeNumber(name: string, raw: string | undefined, fallback: number, least?: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || (least !== undefined && value < least))
    throw new UsageError(
      `--${name} "${raw}" is not a whole number${least === undefined ? "" : ` of at least ${least}`}`,
    );
  return value;
}

/** `--config KEY=VALUE` pairs, as pulumi config set would store them. */
export function configPairs(pairs: string[] | undefined): Record<string, string> {
  const config: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--config "${pair}" is not KEY=VALUE`);
    config[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return config;
}

/** The findings of a parsed document, or a UsageError saying which shapes are understood. */
export function findingsIn(document: unknown, source: string): DocumentReading {
  const reading = readDocument(document);
  if (reading === undefined) {
    throw new UsageError(
      `${source} holds no findings: expected an EventBridge event, a finding (ASFF or OCSF), a list of either, or a {"Findings": [...]} batch`,
    );
  }
  return reading;
}
