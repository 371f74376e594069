import assert from "assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";

const ROOT = join(__dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

function configTable(): Map<string, string> {
  const rows = readme.split("\n").filter((line) => /^\| `[a-zA-Z:]+` \|/.test(line));
  return new Map(
    rows.map((row) => {
      const [, key = "", fallback = ""] = row.split("|").map((cell) => cell.trim());
      return [key.replace(/`/g, ""), fallback.replace(/`/g, "")];
    }),
  );
}

describe("the README", () => {
  it("documents every config key Pulumi.yaml declares, with its default", () => {
    const declared = (
      parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as {
        config: Record<string, { default?: unknown }>;
      }
    ).config;
    const table = configTable();
    for (const [key, declaration] of Object.entries(declared)) {
      assert.ok(table.has(key), `${key} is missing from the configuration table`);
      if (declaration.default !== undefined) {
        const shown = Array.isArray(declaration.default)
          ? `[${declaration.default.join(", ")}]`
          : String(declaration.default);
        assert.equal(table.get(key), shown, `default of ${key}`);
      }
    }
    const documented = [...table.keys()].filter((key) => !key.includes(":"));
    assert.deepEqual(
      documented.filter((key) => !(key in declared)),
      [],
      "the table documents keys that do not exist",
    );
  });

  it("shows only npm scripts the project has", () => {
    const scripts = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    const used = [...readme.matchAll(/npm (?:run )?(\w[\w:-]*)/g)].map((match) => match[1] ?? "");
    // npm's own commands; every other name must be a script of package.json.
    const npmCommands = new Set(["ci", "install", "run"]);
    for (const script of used.filter((name) => !npmCommands.has(name))) {
      assert.ok(script in scripts, `the README shows npm ${script}, which package.json does not define`);
    }
    assert.ok(readme.includes("npm test"));
  });
});
