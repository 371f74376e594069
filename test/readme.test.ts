import assert from "assert/strict";
import { execFile } from "child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "fs";
import { promisify } from "util";
import { join } from "path";
import { parse } from "yaml";
import { priceRows } from "../tools/simulation/prices";

const ROOT = join(__dirname, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const docs = readdirSync(join(ROOT, "docs"))
  .filter((file) => file.endsWith(".md"))
  .map((file) => readFileSync(join(ROOT, "docs", file), "utf8"));
// What a reader is shown: the README and the reference it links to.
const shown = [readme, ...docs].join("\n");

// The README's configuration table, and those of the feature pages in docs/ (routes.md documents its own keys).
function configTable(): Map<string, string> {
  // Rows of the tables headed "| Key | Default |", wherever they stand: other tables name other things.
  const rows: string[] = [];
  for (const text of [readme, ...docs]) {
    let inTable = false;
    for (const line of text.split("\n")) {
      if (/^\| Key \| Default \|/.test(line)) inTable = true;
      else if (!line.startsWith("|")) inTable = false;
      else if (inTable && /^\| `[a-zA-Z:]+` \|/.test(line)) rows.push(line);
    }
  }
  return new Map(
    rows.map((row) => {
      const [, key = "", fallback = ""] = row.split("|").map((cell) => cell.trim());
      return [key.replace(/`/g, ""), fallback.replace(/`/g, "")];
    }),
  );
}

/**
 * A benchmark command as shown, on a smaller estate: the test proves that its scenario and flags run as written
 * (the benchmark's own tests check what it measures); the full-size figures are the benchmark's to show, in
 * minutes of CPU the suite cannot spend.
 */
function scaledDown(command: string): string {
  if (!command.startsWith("npm run bench")) return command;
  const base = command.includes(" -- ") ? command : `${command} --`;
  if (command.includes("--scenario organization"))
    return `${base.replace(/ --(?:accounts|findings-per-account) \d+/g, "")} --accounts 2 --findings-per-account 200`;
  const scaled = command.replace(/--findings \d+/, "--findings 300");
  return scaled === command ? `${base} --findings 300` : scaled;
}

/**
 * Commands that differ only in what they print (`--json`, `--svg FILE`) run once, with every such flag: each
 * process's start-up is most of its cost.
 */
function coalesced(commands: string[]): string[] {
  const output = / --(?:json|svg \S+)/g;
  const groups = new Map<string, Set<string>>();
  for (const command of commands) {
    const base = command.replace(output, "");
    const flags = groups.get(base) ?? new Set<string>();
    for (const flag of command.match(output) ?? []) flags.add(flag);
    groups.set(base, flags);
  }
  return [...groups].map(([base, flags]) => `${base}${[...flags].join("")}`);
}

describe("the README", () => {
  it("states the prices the cost model uses, each with its source and the date it was read", () => {
    for (const row of priceRows())
      assert.ok(readme.includes(row), `the README's cost section lacks:\n${row}`);
  });

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
    const used = [...shown.matchAll(/npm (?:run )?(?:-s |--silent )?(\w[\w:-]*)/g)].map(
      (match) => match[1] ?? "",
    );
    // npm's own commands; every other name must be a script of package.json.
    const npmCommands = new Set(["ci", "install", "run"]);
    for (const script of used.filter((name) => !npmCommands.has(name))) {
      assert.ok(script in scripts, `the README shows npm ${script}, which package.json does not define`);
    }
    assert.ok(
      readme.indexOf("npm start") < readme.indexOf("npm test"),
      "the quick start runs npm start first",
    );
  });

  it("shows local commands that run as shown", async function () {
    this.timeout(600_000);
    const blocks = [...shown.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
    const commands = blocks
      .flatMap((block) => block.split("\n"))
      .map((line) => line.replace(/\s+#.*$/, "").trim())
      // Local ones only: those needing AWS or PagerDuty credentials, and install and test themselves, are left out.
      .filter((line) => line.startsWith("npm ") && !/\$\(|<|^npm (ci|test)$/.test(line));
    assert.ok(commands.length >= 8, commands.join("\n"));
    const written = ["event.json", "delivery.svg", "organization.svg"].map((file) => join(ROOT, file));
    try {
      // Two at a time (one per core of the machines this runs on): the commands are independent.
      const pending = coalesced(commands);
      const worker = async () => {
        for (let command = pending.shift(); command !== undefined; command = pending.shift()) {
          await promisify(execFile)("bash", ["-c", scaledDown(command)], {
            cwd: ROOT,
            maxBuffer: 1 << 26,
          }).catch((error: Error) => {
            throw new Error(`README command failed: ${command}\n${error.message}`);
          });
        }
      };
      const failed = (await Promise.allSettled([worker(), worker()])).find(
        (outcome) => outcome.status === "rejected",
      );
      if (failed !== undefined) throw failed.reason;
    } finally {
      for (const file of written) if (existsSync(file)) rmSync(file);
    }
  });
});
