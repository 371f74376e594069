import assert from "assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";
import { TAGGABLE_TYPES } from "../infra/tags";
import { runProgram, type ProgramRun, type RecordedResource } from "../tools/mockEngine";
import { placeholders, planSettings } from "../tools/plan";
import { loadStackSettings, ROOT, stackNames } from "../tools/stackConfig";

// What an organization's account needs of a stack: several of them side by side, its tags everywhere, no public
// endpoint if it forbids one, and example values that cannot slip through to pulumi up.

/** The names a resource asks for itself; the others are Pulumi's auto-names, a random suffix per stack. */
function ownNames(resource: RecordedResource): string[] {
  return ["name", "dashboardName", "identifier"]
    .map((key) => resource.inputs[key])
    .filter((name): name is string => typeof name === "string");
}

/** Whether @pulumi/aws's class for a resource type takes tags: the SDK is the authority, not a list of ours. */
function sdkTakesTags(type: string): boolean {
  const module = /^aws:([\w]+\/\w+):/.exec(type)?.[1];
  if (module === undefined) return false;
  const source = readFileSync(require.resolve(`@pulumi/aws/${module}.js`), "utf8");
  return source.includes('resourceInputs["tags"]');
}

describe("stacks in an organization's accounts", () => {
  let prod: ProgramRun;
  before(async () => {
    prod = await runProgram(planSettings("prod", { tags: "team=security,cost-center=42" }).settings);
  });

  it("lets two stacks share one AWS account and Region, and one PagerDuty account, with no name in common", async () => {
    const { settings } = planSettings("prod", {});
    const second = await runProgram({ ...settings, stack: "prod-eu-team" });
    const names = (run: ProgramRun) =>
      new Set(run.resources.filter((r) => !r.type.startsWith("pulumi:")).flatMap(ownNames));
    const first = names(prod);
    assert.ok(first.size >= 10, [...first].join(", "));
    assert.deepEqual(
      [...names(second)].filter((name) => first.has(name)),
      [],
      "names both stacks would claim",
    );
  });

  it("tags every resource whose type takes tags, and the program's list of such types is the SDK's", () => {
    const types = new Set(prod.resources.map((resource) => resource.type));
    assert.deepEqual(
      [...types].filter(sdkTakesTags).sort(),
      [...TAGGABLE_TYPES].filter((type) => types.has(type)).sort(),
    );
    const taggable = prod.resources.filter((resource) => sdkTakesTags(resource.type));
    assert.ok(taggable.length >= 20);
    for (const resource of taggable) {
      assert.deepEqual(
        resource.inputs.tags,
        { team: "security", "cost-center": "42" },
        `${resource.type} ${resource.name}`,
      );
    }
  });

  it("leaves out the public webhook endpoint on request, keeping the custom action and the write-back", async () => {
    const run = await runProgram(planSettings("prod", { webhookEndpoint: "false" }).settings);
    const types = run.resources.map((resource) => resource.type);
    assert.ok(!types.includes("aws:lambda/functionUrl:FunctionUrl"));
    assert.deepEqual(
      run.resources
        .filter((resource) => resource.type === "pulumi-nodejs:dynamic:Resource")
        .map((r) => r.name),
      ["delivery-baseline"],
      "no webhook subscription",
    );
    assert.deepEqual(
      run.resources.filter((resource) => resource.name.startsWith("sync-webhook")),
      [],
    );
    assert.ok(types.includes("aws:securityhub/actionTarget:ActionTarget"));
    const policy = run.resources.find((resource) => resource.name === "delivery-role-policy");
    assert.match(String(policy?.inputs.policy), /securityhub:BatchUpdateFindings/);
  });

  it("flags every placeholder of the example stacks, and nothing once real values replace them", () => {
    for (const stack of stackNames()) {
      const file = parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
        config: Record<string, unknown>;
      };
      const examples = ["escalationUserEmails", "escalationScheduleNames", "alarmEmail"].flatMap((key) => {
        const value = file.config[`electriceye-pagerduty:${key}`];
        return value === undefined ? [] : ([] as unknown[]).concat(value).map(String);
      });
      const flagged = placeholders(loadStackSettings(stack)).join("\n");
      for (const example of examples)
        assert.ok(flagged.includes(example), `${stack}: ${example} not flagged`);
    }
    const real = loadStackSettings("prod", {
      escalationUserEmails: "oncall@acme.io",
      escalationScheduleNames: "Primary security rotation",
      alarmEmail: "alerts@acme.io",
    });
    assert.deepEqual(placeholders(real), []);
  });

  it("refuses an AWS Region that does not exist, naming the ones that do", () => {
    assert.throws(
      () => loadStackSettings("prod", { "aws:region": "us-east-7" }),
      /^Error: config aws:region is "us-east-7": not an AWS Region; expected one of .*eu-west-1.*us-east-1/,
    );
  });
});
