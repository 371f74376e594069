export type JsonParse = { ok: true; value: unknown } | { ok: false; reason: string };

/** JSON.parse, with a failure described by line and column: what a person can act on. */
export function parseJson(text: string): JsonParse {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).replace(
      / (in JSON )?at position \d+.*$/s,
      "",
    );
    // V8 names the position for some errors only; the scan finds it for all.
    const offset = errorOffset(text);
    const before = text.slice(0, offset).split("\n");
    const column = (before[before.length - 1]?.length ?? 0) + 1;
    const short = message.replace(/, ".*" is not valid JSON$/s, "");
    return { ok: false, reason: `${short} at line ${before.length}, column ${column}` };
  }
}

/** The offset of the first character that cannot continue a JSON text (only called on invalid input). */
function errorOffset(text: string): number {
  let at = 0;
  const space = () => {
    while (at < text.length && " \t\n\r".includes(text.charAt(at))) at += 1;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text.charAt(at) !== char) throw at;
      at += 1;
    }
  };
  const string = () => {
    at += 1;
    for (;;) {
      const char = text.charAt(at);
      if (at >= text.length || char < " ") throw at;
      at += 1;
      if (char === '"') return;
      if (char === "\\") {
        const escape = text.charAt(at);
        if (escape === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) throw at;
          at += 5;
        } else if ('"\\/bfnrt'.includes(escape) && escape !== "") at += 1;
        else throw at;
      }
    }
  };
  const value = (): void => {
    space();
    const char = text.charAt(at);
    if (char === "{") {
      at += 1;
      space();
      if (text.charAt(at) === "}") {
        at += 1;
        return;
      }
      for (;;) {
        space();
        if (text.charAt(at) !== '"') throw at;
        string();
        space();
        literal(":");
        value();
        space();
        if (text.charAt(at) === ",") at += 1;
        else return literal("}");
      }
    }
    if (char === "[") {
      at += 1;
      space();
      if (text.charAt(at) === "]") {
        at += 1;
        return;
      }
      for (;;) {
        value();
        space();
        if (text.charAt(at) === ",") at += 1;
        else return literal("]");
      }
    }
    if (char === '"') return string();
    if (char === "t") return literal("true");
    if (char === "f") return literal("false");
    if (char === "n") return literal("null");
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at));
    if (number === null) throw at;
    at += number[0].length;
  };
  try {
    value();
    space();
    return at;
  } catch (offset) {
    return typeof offset === "number" ? offset : at;
  }
}

// Tolerant readers: real findings are messy (missing objects, values outside the documented enums, numbers as
// strings), so every reader accepts `unknown` and returns a typed value or undefined instead of trusting the shape.

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function valueAt(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** A non-blank string at `path`, trimmed; anything else is undefined. */
export function textAt(value: unknown, ...path: string[]): string | undefined {
  const found = valueAt(value, ...path);
  if (typeof found !== "string") return undefined;
  const trimmed = found.trim();
  return trimmed === "" ? undefined : trimmed;
}

/** The non-blank strings of an array at `path`; a missing or non-array value is an empty list. */
export function textsAt(value: unknown, ...path: string[]): string[] {
  const found = valueAt(value, ...path);
  if (!Array.isArray(found)) return [];
  return found.filter((item): item is string => typeof item === "string" && item.trim() !== "");
}

/** A finite number, or a string that is one ("40"); anything else is undefined. */
export function numberFrom(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

export interface ArnParts {
  partition: string;
  service: string;
  region: string;
  account: string;
}

export function parseArn(arn: string | undefined): ArnParts | undefined {
  const match = arn === undefined ? null : /^arn:([^:]+):([^:]+):([^:]*):([^:]*):/.exec(arn);
  if (match === null) return undefined;
  return {
    partition: match[1] ?? "",
    service: match[2] ?? "",
    region: match[3] ?? "",
    account: match[4] ?? "",
  };
}
