// EventBridge's event pattern matching, for the subset of the pattern language the project and its users
// write: exact values, prefix, suffix, equals-ignore-case, anything-but, exists, numeric and $or. As in
// EventBridge, arrays are flattened: a condition holds when any element satisfies it, and conditions on
// different fields may be satisfied by different elements of an array of objects.

type Pattern = Record<string, unknown>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function flatten(values: unknown[]): unknown[] {
  return values.flatMap((value) => (Array.isArray(value) ? flatten(value) : [value]));
}

function childrenAt(nodes: unknown[], key: string): unknown[] {
  return flatten(
    nodes
      .filter(isObject)
      .map((node) => node[key])
      .filter((value) => value !== undefined),
  );
}

function matchesValue(matcher: unknown, value: unknown): boolean {
  if (!isObject(matcher)) return matcher === value;
  if ("prefix" in matcher) return typeof value === "string" && value.startsWith(String(matcher.prefix));
  if ("suffix" in matcher) return typeof value === "string" && value.endsWith(String(matcher.suffix));
  if ("equals-ignore-case" in matcher) {
    return (
      typeof value === "string" && value.toLowerCase() === String(matcher["equals-ignore-case"]).toLowerCase()
    );
  }
  if ("anything-but" in matcher) {
    const excluded = matcher["anything-but"];
    if (isObject(excluded)) return !matchesValue(excluded, value);
    return !(Array.isArray(excluded) ? excluded : [excluded]).includes(value);
  }
  if ("numeric" in matcher && Array.isArray(matcher.numeric) && typeof value === "number") {
    const terms = matcher.numeric as (string | number)[];
    for (let index = 0; index + 1 < terms.length; index += 2) {
      const [operator, bound] = [terms[index], Number(terms[index + 1])];
      const holds = {
        "=": value === bound,
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
      }[String(operator)];
      if (holds !== true) return false;
    }
    return true;
  }
  throw new Error(`unsupported pattern matcher ${JSON.stringify(matcher)}`);
}

function matchesLeaf(matchers: unknown[], values: unknown[]): boolean {
  return matchers.some((matcher) => {
    if (isObject(matcher) && "exists" in matcher)
      return matcher.exists === true ? values.length > 0 : values.length === 0;
    return values.some((value) => !isObject(value) && matchesValue(matcher, value));
  });
}

function matchesAt(pattern: Pattern, nodes: unknown[]): boolean {
  return Object.entries(pattern).every(([key, condition]) => {
    if (key === "$or") {
      if (!Array.isArray(condition)) throw new Error("$or takes a list of patterns");
      return condition.some((alternative) => isObject(alternative) && matchesAt(alternative, nodes));
    }
    if (Array.isArray(condition)) return matchesLeaf(condition, childrenAt(nodes, key));
    if (isObject(condition)) return matchesAt(condition, childrenAt(nodes, key));
    throw new Error(`pattern value at "${key}" must be a list or an object`);
  });
}

/** Whether EventBridge would deliver `event` to a rule with `pattern`. */
export function matchesPattern(pattern: Pattern, event: unknown): boolean {
  return matchesAt(pattern, [event]);
}
