import assert from "assert/strict";
import { decide, type FindingFilter } from "../handler/finding/filter";
import { planRules, type RulePlan } from "../infra/eventPatterns";
import { matchesPattern } from "../tools/patternMatcher";
import { passedReimport, importedEvent } from "../tools/simulation/findings";
import { asFinding, findingOf, findingsOf, fixtureNames, loadFixture } from "./support/fixtures";

const DEV: FindingFilter = {
  severityLabels: ["CRITICAL"],
  products: ["ElectricEye"],
  workflowStatuses: ["NEW", "NOTIFIED"],
  activeOnly: true,
};
const PROD: FindingFilter = { ...DEV, severityLabels: ["HIGH", "CRITICAL"] };
const EVERY_PRODUCT: FindingFilter = { ...PROD, products: [] };

function matching(rules: RulePlan[], event: unknown): string[] {
  return rules.filter((rule) => matchesPattern(rule.pattern, event)).map((rule) => rule.name);
}

/** Security Hub gives every finding it imports a Workflow, NEW unless the finding sets one. */
function importedBySecurityHub(finding: Record<string, unknown>): Record<string, unknown> {
  return finding.Workflow === undefined ? { ...finding, Workflow: { Status: "NEW" } } : finding;
}

describe("the EventBridge rules, matched as EventBridge matches them", () => {
  const dev = planRules(DEV, { resolveRule: true, priorityLanes: true });
  const prod = planRules(PROD, { resolveRule: true, priorityLanes: true });

  it("admit a CRITICAL ElectricEye finding in dev, and a HIGH one only to close its alert", () => {
    assert.deepEqual(matching(dev, importedEvent([findingOf("electriceye-s3-public-bucket-policy.json")])), [
      "critical-findings",
    ]);
    assert.deepEqual(
      matching(dev, importedEvent([findingOf("electriceye-s3-encryption.json")])),
      ["resolutions"],
      "a HIGH finding is below dev's CRITICAL: it only closes",
    );
    assert.deepEqual(matching(prod, importedEvent([findingOf("electriceye-s3-encryption.json")])), [
      "findings",
    ]);
  });

  it('admit ElectricEye under ProductFields."Product Name" (older releases) and as stored by Security Hub', () => {
    const older = findingOf("electriceye-s3-public-bucket-policy.json");
    older.ProductFields = { "Product Name": "ElectricEye" };
    assert.deepEqual(matching(dev, importedEvent([older])), ["critical-findings"]);
    const stored: Record<string, unknown> = {
      ...findingOf("electriceye-docs-sechub-output-gcp.json"),
      Severity: { Label: "CRITICAL" },
    };
    assert.equal((stored.ProductFields as Record<string, string>)["aws/securityhub/ProductName"], "Default");
    assert.deepEqual(matching(dev, importedEvent([stored])), ["critical-findings"]);
  });

  it("admit the PASSED re-import of any severity through the resolve rule only", () => {
    const passed = passedReimport(findingOf("electriceye-s3-public-bucket-policy.json"));
    assert.deepEqual(matching(dev, importedEvent([passed])), ["resolutions"]);
    assert.deepEqual(matching(prod, importedEvent([findingOf("electriceye-docs-stdout-ebs-volume.json")])), [
      "resolutions",
    ]);
  });

  it("leave out other products and Insight Results; a failing MEDIUM or archived finding only closes", () => {
    assert.deepEqual(matching(prod, importedEvent([findingOf("guardduty-docs-typical-finding.json")])), []);
    const medium = { ...findingOf("electriceye-s3-encryption.json"), Severity: { Label: "MEDIUM" } };
    assert.deepEqual(
      matching(prod, importedEvent([medium])),
      ["resolutions"],
      "below the paged labels: it resolves what its HIGH import opened",
    );
    assert.deepEqual(matching(prod, loadFixture("aws-docs-insight-results-event.json")), []);
    const archived = { ...findingOf("electriceye-s3-encryption.json"), RecordState: "ARCHIVED" };
    assert.deepEqual(
      matching(prod, importedEvent([archived])),
      ["resolutions"],
      "archived closes, never opens",
    );
  });

  it("flatten arrays of findings as EventBridge does, which is why the function re-checks each finding", () => {
    const critical = findingOf("electriceye-s3-public-bucket-policy.json");
    const medium = { ...findingOf("electriceye-s3-encryption.json"), Severity: { Label: "MEDIUM" } };
    const event = importedEvent([medium, critical]);
    assert.deepEqual(matching(dev, event), ["critical-findings", "resolutions"]);
    assert.deepEqual(
      [medium, critical].map((finding) => decide(asFinding(finding), DEV).action),
      ["resolve", "trigger"],
    );
  });

  it("agree with the function's own filter on every finding of every fixture", () => {
    let checked = 0;
    for (const filter of [DEV, PROD, EVERY_PRODUCT]) {
      const rules = planRules(filter, { resolveRule: true, priorityLanes: true });
      for (const name of fixtureNames()) {
        for (const original of findingsOf(name)) {
          for (const finding of [original, passedReimport(original)].map(importedBySecurityHub)) {
            const matched = matching(rules, importedEvent([finding]));
            const { action, reason } = decide(asFinding(finding), filter);
            if (action === "trigger")
              assert.ok(
                matched.some((rule) => rule !== "resolutions"),
                `${name}: no rule admits a page`,
              );
            if (action === "resolve")
              assert.ok(matched.includes("resolutions"), `${name}: no rule admits the resolution`);
            if (action === "skip")
              assert.deepEqual(matched, [], `${name}: a rule admits what the function skips (${reason})`);
            checked += 1;
          }
        }
      }
    }
    assert.ok(checked > 100);
  });
});
