import assert from "assert/strict";
import { execFile } from "child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "fs";
import { promisify } from "util";
import { join } from "path";
import { parse } from "yaml";

const ROOT = join(__dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
// The reference for a concern lives in docs/, its settings' table with it.
const docs = readdirSync(join(ROOT, "docs"))
  .filter((file) => file.endsWith(".md"))
  .map((file) => readFileSync(join(ROOT, "docs", file), "utf8"));

function configTable(): Map<string, string> {
  const rows = [readme, ...docs]
    .join("\n")
    .split("\n")
    .filter((line) => /^\| `[a-zA-Z:]+` \|/.test(line));
  return new Map(
    rows.map((row) => {
      const [, key = "", fallback = ""] = row.split("|").map((cell) => cell.trim());
      return [key.replace(/`/g, ""), fallback.replace(/`/g, "")];
    }),
  );
}

describe("the README", () => {
  it("documents every config key Pulumi.yaml declares, with its default (in its table or in docs/)", () => {
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
    const used = [...readme.matchAll(/npm (?:run )?(?:-s |--silent )?(\w[\w:-]*)/g)].map(
      (match) => match[1] ?? "",
    );
    // npm's own commands; every other name must be a script of package.json.
    const npmCommands = new Set(["ci", "install", "run"]);
    for (const script of used.filter((name) => !npmCommands.has(name))) {
      assert.ok(script in scripts, `the README shows npm ${script}, which package.json does not define`);
    }
    assert.ok(readme.includes("npm test"));
  });

  it("shows local commands that run as shown", async function () {
    this.timeout(300_000);
    const blocks = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
    const commands = blocks
      .flatMap((block) => block.split("\n"))
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      // Local ones only: those needing AWS or PagerDuty credentials, and install and test themselves, are left out.
      .filter((line) => line.startsWith("npm ") && !/\$\(|<|^npm (ci|test)$/.test(line));
    assert.ok(commands.length >= 8, commands.join("\n"));
    const written = ["event.json", "delivery.svg"].map((file) => join(ROOT, file));
    try {
      for (const command of commands) {
        await promisify(execFile)("bash", ["-c", command], { cwd: ROOT, maxBuffer: 1 << 26 }).catch(
          (error: Error) => {
            throw new Error(`README command failed: ${command}\n${error.message}`);
          },
        );
      }
    } finally {
      for (const file of written) if (existsSync(file)) rmSync(file);
    }
  });
});
