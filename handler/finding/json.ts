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
