import { existsSync, readFileSync, readdirSync } from "fs";
import { join } from "path";
import { Region } from "@pulumi/aws/types/enums";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { PROJECT, parseList, type ConfigSource } from "../config";
import { UsageError } from "./cli";

export const ROOT = join(__dirname, "..");

/** A stack's configuration as the Pulumi CLI hands it to the program: declared defaults, then the stack file. */
export interface StackSettings {
  stack: string;
  values: Record<string, string>;
  /** Keys whose values are secret (ciphertext in the stack file, or placeholders). */
  secretKeys: string[];
}

interface Declaration {
  /** Undeclared: a structured value (an object or a list of objects). */
  type?: "string" | "boolean" | "integer" | "array";
  default?: unknown;
  secret?: boolean;
}

export function stackNames(root = ROOT): string[] {
  return readdirSync(root)
    .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

function readYaml(path: string): unknown {
  try {
    return parse(readFileSync(path, "utf8")) as unknown;
  } catch (error) {
    throw new UsageError(
      `${path} is not valid YAML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    );
  }
}

function declarations(root: string): Record<string, Declaration> {
  const project = readYaml(join(root, "Pulumi.yaml")) as { config?: Record<string, Declaration> };
  return project.config ?? {};
}

function encode(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function typeOk(declaration: Declaration, value: unknown): boolean {
  switch (declaration.type) {
    case undefined:
      return true;
    case "array":
      return Array.isArray(value);
    case "boolean":
      return typeof value === "boolean" || value === "true" || value === "false";
    case "integer":
      return Number.isInteger(typeof value === "string" ? Number(value) : value);
    case "string":
      return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
  }
}

/**
 * Reads Pulumi.yaml and Pulumi.STACK.yaml the way the CLI does: declared defaults apply, undeclared project keys
 * and values of the wrong type are errors, encrypted values stay secret (they cannot be read here).
 */
export function loadStackSettings(
  stack: string,
  overrides: Record<string, string> = {},
  root = ROOT,
): StackSettings {
  const path = join(root, `Pulumi.${stack}.yaml`);
  if (!existsSync(path)) {
    throw new UsageError(
      `there is no Pulumi.${stack}.yaml; stacks here: ${stackNames(root).join(", ") || "none"}`,
    );
  }
  const declared = declarations(root);
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [name, declaration] of Object.entries(declared)) {
    if (declaration.default !== undefined) values[`${PROJECT}:${name}`] = encode(declaration.default);
  }
  const file = readYaml(path) as { config?: Record<string, unknown> } | null;
  const entries = { ...(file?.config ?? {}), ...overrides };
  for (const [key, value] of Object.entries(entries)) {
    const [namespace, name = ""] = key.includes(":") ? key.split(/:(.*)/s) : [PROJECT, key];
    const fullKey = `${namespace}:${name}`;
    const secure = holdsSecure(value);
    if (namespace === PROJECT) {
      const declaration = declared[name];
      if (declaration === undefined) {
        throw new UsageError(
          `config ${fullKey} is not declared in Pulumi.yaml; known keys: ${Object.keys(declared).join(", ")}`,
        );
      }
      // A list given on the command line may be JSON or commas; the program then checks its items.
      const parsed = typeof value === "string" && declaration.type === "array" ? parseList(value) : value;
      if (!secure && !typeOk(declaration, parsed)) {
        throw new UsageError(
          `config ${fullKey} is ${JSON.stringify(value)}: Pulumi.yaml declares it as ${declaration.type}${declaration.type === "array" ? ', given as JSON (["a","b"]) or commas (a,b)' : ""}`,
        );
      }
      if (declaration.secret === true || secure) secretKeys.push(fullKey);
      values[fullKey] = secure ? encode(withPlaceholders(fullKey, parsed)) : encode(parsed);
    } else {
      const regions: string[] = Object.values(Region);
      if (fullKey === "aws:region" && !regions.includes(String(value))) {
        throw new UsageError(
          `config aws:region is ${JSON.stringify(value)}: not an AWS Region; expected one of ${regions.join(", ")}`,
        );
      }
      if (secure) secretKeys.push(fullKey);
      values[fullKey] = secure ? placeholderFor(fullKey) : encode(value);
    }
  }
  return { stack, values, secretKeys };
}

/** A value encrypted in the stack file, or a structured value with encrypted parts (pulumi config set --path --secret). */
function holdsSecure(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  return "secure" in value || Object.values(value).some(holdsSecure);
}

function withPlaceholders(key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if ("secure" in value) return placeholderFor(key);
  if (Array.isArray(value)) return value.map((item) => withPlaceholders(key, item));
  return Object.fromEntries(
    Object.entries(value).map(([name, inner]) => [name, withPlaceholders(key, inner)]),
  );
}

/** Stands in for a value encrypted in the stack file: it is only ever shown as [secret]. */
export function placeholderFor(key: string): string {
  return key.endsWith("existingRoutingKey") || key.endsWith("routeRoutingKeys")
    ? "0".repeat(32)
    : "offline-plan-placeholder";
}

/** The configuration source the program would see, from a plain stack settings map. */
export function mapConfigSource(settings: StackSettings): ConfigSource {
  const secret = (key: string) => {
    const value = settings.values[key];
    return value === undefined ? undefined : pulumi.secret(value);
  };
  return {
    stack: settings.stack,
    get: (key) => settings.values[`${PROJECT}:${key}`],
    getSecret: (key) => secret(`${PROJECT}:${key}`),
    pagerdutyToken: () => secret("pagerduty:token"),
  };
}
