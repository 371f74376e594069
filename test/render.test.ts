import assert from "assert/strict";
import { spawn } from "child_process";
import { join } from "path";
import { ACCEPT_ALL } from "../handler/finding/filter";
import { validate } from "../standins/pagerdutyModel";
import { missingAsffFields, render, renderNotes } from "../tools/render";
import { FIXTURE_DIR, fixtureNames, loadFixture } from "./support/fixtures";

const ROOT = join(__dirname, "..");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the render command in a process of its own (its start-up is most of the cost: run several at once). */
function runRender(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn("npx", ["ts-node", "tools/render.ts", ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

describe("render", () => {
  it("renders every fixture into events the strict PagerDuty model accepts, key redacted", () => {
    for (const name of fixtureNames()) {
      const rendering = render(loadFixture(name), ACCEPT_ALL, name);
      for (const event of rendering.events) {
        assert.equal(event.routing_key, "<redacted>");
        const errors = validate({ ...event, routing_key: "e93facc04764012d7bfb002500d5d1a6" });
        assert.deepEqual(errors, [], name);
      }
      const expected = name === "aws-docs-insight-results-event.json" ? 0 : 1;
      assert.ok(rendering.events.length >= expected, name);
    }
  });

  it("prints the document for a file and for standard input", async () => {
    const [file, piped] = await Promise.all([
      runRender([join(FIXTURE_DIR, "prowler-3.3.0-asff-output-sample.json")]),
      runRender(
        ["-", "--severity", "CRITICAL"],
        JSON.stringify(loadFixture("asr-afsbp-custom-action-mixed-controls.json")),
      ),
    ]);
    assert.equal(file.status, 0, file.stderr);
    const output = JSON.parse(file.stdout) as { events: { event_action: string }[]; skipped: unknown[] };
    assert.deepEqual(
      output.events.map((event) => event.event_action),
      ["trigger", "resolve", "trigger", "trigger"],
    );
    assert.deepEqual(output.skipped, []);
    assert.equal(piped.status, 0, piped.stderr);
    const filtered = JSON.parse(piped.stdout) as {
      events: unknown[];
      skipped: { findingId: string; reason: string }[];
    };
    // The MEDIUM finding is below the filter: it closes an alert its earlier severity opened, never opens one.
    assert.deepEqual(
      filtered.events.map((event) => (event as { event_action: string }).event_action),
      ["trigger", "resolve"],
    );
    assert.deepEqual(filtered.skipped, []);
  });

  it("shows the group each finding's event belongs to with --alert-per control", async () => {
    const grouped = await runRender([
      join(FIXTURE_DIR, "securityhub-fsbp-multiple-resources-findings.json"),
      "--alert-per",
      "control",
    ]);
    assert.equal(grouped.status, 0, grouped.stderr);
    const output = JSON.parse(grouped.stdout) as {
      alerts: { alertKey: string; group?: { control: string; from: string; account?: string } }[];
    };
    assert.deepEqual(
      output.alerts.map((alert) => alert.group),
      [
        { control: "EC2.2", from: "ProductFields.ControlId", account: "012345678912" },
        { control: "S3.8", from: "ProductFields.ControlId", account: "001122334455" },
      ],
    );
    assert.ok(output.alerts.every((alert) => alert.alertKey.startsWith("securityhub-group-")));
  });

  it("fails with one line and no stack trace on unreadable input", async () => {
    const cases: [string[], string | undefined, RegExp][] = [
      [["missing.json"], undefined, /^render: cannot read missing\.json: no such file\n$/],
      [["-"], '{"Findings": [}', /^render: standard input is not valid JSON: .* at line 1, column 15\n$/],
      [
        ["-"],
        '{"hello": "world"}',
        /^render: standard input holds no findings: expected an EventBridge event/,
      ],
      [["-", "--severity", "SEVERE"], "{}", /^render: --severity "SEVERE" is not a severity label/],
    ];
    const results = await Promise.all(cases.map(([args, input]) => runRender(args, input)));
    cases.forEach(([args, , message], index) => {
      const result = results[index];
      assert.ok(result !== undefined);
      assert.equal(result.status, 1, args.join(" "));
      assert.match(result.stderr, message);
      assert.equal(result.stderr.split("\n").length, 2, "one line");
      assert.equal(result.stdout, "");
    });
  });
});

describe("render's notes beside its output", () => {
  it("names the attributes ASFF requires that a hand-made finding lacks, and none for real ASFF or OCSF findings", () => {
    assert.deepEqual(renderNotes({ Id: "x" }, "x.json"), [
      "finding 1 lacks what ASFF requires: AwsAccountId, CreatedAt, Description, GeneratorId, ProductArn, Resources, SchemaVersion, Severity, Title, Types, UpdatedAt (its page shows stand-ins for them)",
    ]);
    for (const name of fixtureNames()) {
      const document = loadFixture(name);
      assert.deepEqual(renderNotes(document, name), [], name);
    }
    assert.deepEqual(missingAsffFields({ finding_info: { uid: "x" } }), []);
  });

  it("says when a file holds no findings", () => {
    assert.deepEqual(renderNotes([], "empty.json"), ["empty.json holds no findings"]);
    assert.deepEqual(renderNotes({ Findings: [] }, "batch.json"), ["batch.json holds no findings"]);
  });
});
