import assert from "assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, readStackConfig } from "../config";
import { chooseRoute, outOfScope, type AccountLookup, type RouteRule } from "../handler/finding/routes";
import { deliveryPlan, functionSettings } from "../infra/tuning";
import { planSettings } from "../tools/plan";
import { mapConfigSource } from "../tools/stackConfig";
import { asFinding, findingOf } from "./support/fixtures";

// Routes on the real published findings of test/fixtures: their own accounts, Regions, products and tags.

const ocsf = (name: string): Record<string, unknown> => {
  const document = JSON.parse(readFileSync(join(__dirname, "fixtures", "ocsf", name), "utf8")) as Record<
    string,
    unknown
  >;
  const findings = (document.detail as { findings?: Record<string, unknown>[] } | undefined)?.findings;
  return findings?.[0] ?? document;
};

// Real findings: GuardDuty's (account 193043430472, an instance tagged Name=kubectl), Inspector's OCSF (an EKS node
// tagged eks:cluster-name=demo_prod), ElectricEye's (account 111122223333), Security Hub's FSBP CloudTrail.2.
const guardduty = asFinding(findingOf("guardduty-docs-typical-finding.json"));
const inspector = asFinding(ocsf("securityhub-v2-inspector-vulnerability-ec2-high-new.json"));
const electriceye = asFinding(findingOf("electriceye-s3-public-bucket-policy.json"));
const cloudtrail = asFinding(findingOf("aws-docs-sample-fsbp-finding.json"));
const lambdaExposure = asFinding(ocsf("securityhub-v2-exposure-finding-lambda-critical-new.json"));

const known = (
  tags: Record<string, string>,
  parents: { id: string; name?: string }[] = [],
): AccountLookup => ({
  kind: "known",
  facts: { tags, parents },
});

const RULES: RouteRule[] = [
  { name: "payments", match: { accountTags: { team: ["payments"] } } },
  { name: "platform", match: { accounts: ["111122223333"] } },
  { name: "kubernetes", match: { resourceTags: { "eks:cluster-name": ["demo_prod"] } } },
  { name: "workloads", match: { organizationalUnits: ["Workloads"], severityLabels: ["CRITICAL"] } },
  { name: "stacks", match: { resourceTags: { "aws:cloudformation:stack-name": ["LambdaProdStack"] } } },
  { name: "trail", match: { controls: ["CloudTrail.2"], regions: ["us-east-2"] } },
];

describe("routes", () => {
  describe("choosing a finding's route", () => {
    it("takes the account tag from Organizations: GuardDuty's account tagged team=payments pages payments", () => {
      assert.deepEqual(chooseRoute(guardduty, RULES, known({ team: "payments" })), {
        route: "payments",
        why: "matches route payments",
      });
      assert.equal(chooseRoute(guardduty, RULES, known({ team: "search" })).route, "default");
    });

    it("matches the account list on ElectricEye's own account, and the first match wins", () => {
      assert.equal(chooseRoute(electriceye, RULES, known({})).route, "platform");
      assert.equal(chooseRoute(electriceye, RULES, known({ team: "payments" })).route, "payments");
    });

    it("matches OCSF resources[].tags (Inspector's EKS node) and ASFF Resources[].Tags (GuardDuty's Name)", () => {
      assert.equal(chooseRoute(inspector, RULES, known({})).route, "kubernetes");
      const byName: RouteRule[] = [
        { name: "tools", match: { resourceTags: { Name: ["kubectl", "bastion"] } } },
      ];
      assert.equal(chooseRoute(guardduty, byName, undefined).route, "tools");
      assert.equal(chooseRoute(inspector, byName, undefined).route, "default");
    });

    it("matches an organizational unit by name or id at any depth, with every other field of the route", () => {
      const parents = [
        { id: "ou-ab12-11111111", name: "Serverless" },
        { id: "ou-ab12-22222222", name: "Workloads" },
        { id: "r-ab12" },
      ];
      assert.equal(chooseRoute(lambdaExposure, RULES, known({}, parents)).route, "workloads");
      // The same route wants CRITICAL: Inspector's HIGH finding in that OU falls through to its resource tag.
      assert.equal(chooseRoute(inspector, RULES, known({}, parents)).route, "kubernetes");
      const byId: RouteRule[] = [{ name: "root", match: { organizationalUnits: ["r-ab12"] } }];
      assert.equal(chooseRoute(inspector, byId, known({}, parents)).route, "root");
    });

    it("matches control and Region (Security Hub's FSBP CloudTrail.2 in us-east-2), and products", () => {
      assert.equal(chooseRoute(cloudtrail, RULES, known({})).route, "trail");
      const products: RouteRule[] = [{ name: "threats", match: { products: ["GuardDuty"] } }];
      assert.equal(chooseRoute(guardduty, products, undefined).route, "threats");
      assert.equal(chooseRoute(cloudtrail, products, undefined).route, "default");
    });

    it("takes the default route, saying why, when Organizations cannot be read and a route needs it", () => {
      const choice = chooseRoute(electriceye, RULES, {
        kind: "unavailable",
        reason: "AccessDeniedException",
      });
      assert.deepEqual(choice, {
        route: "default",
        why: "route payments needs the account's tags or parents, which could not be read",
        fallback: "AccessDeniedException",
      });
      // A route that needs nothing from Organizations, listed first, still routes.
      const first: RouteRule[] = [RULES[1] as RouteRule, RULES[0] as RouteRule];
      assert.equal(
        chooseRoute(electriceye, first, { kind: "unavailable", reason: "throttled" }).route,
        "platform",
      );
    });

    it("treats an account outside the organization as one without tags or parents", () => {
      assert.equal(chooseRoute(electriceye, RULES, { kind: "notInOrganization" }).route, "platform");
      assert.equal(chooseRoute(guardduty, RULES, { kind: "notInOrganization" }).route, "default");
    });

    it("leaves accounts excluded (or not included) to their own stack", () => {
      assert.equal(outOfScope(electriceye, { include: [], exclude: [] }), undefined);
      assert.equal(
        outOfScope(electriceye, { include: [], exclude: ["111122223333"] }),
        "account 111122223333 is excluded (it has a stack of its own)",
      );
      assert.equal(
        outOfScope(guardduty, { include: ["111122223333"], exclude: [] }),
        "account 193043430472 is not one of the included accounts",
      );
    });
  });

  describe("configuration", () => {
    const configFor = (overrides: Record<string, string>, stack = "org") =>
      readStackConfig(mapConfigSource(planSettings(stack, overrides).settings));
    const routes = (value: unknown[]) => ({ routes: JSON.stringify(value) });
    const payments = {
      name: "payments",
      match: { accountTags: { team: "payments" } },
      existingServiceId: "PPAY001",
    };

    it("reads the org stack's three routes, each with its own parameter, and its excluded account", () => {
      const config = configFor({});
      assert.deepEqual(
        config.routes.map((route) => [route.name, route.pagerduty.mode, route.parameterName]),
        [
          ["payments", "create", "electriceye-pagerduty-org-payments"],
          ["platform", "existingService", "electriceye-pagerduty-org-platform"],
          ["data", "create", "electriceye-pagerduty-org-data"],
        ],
      );
      assert.deepEqual(config.routes[0]?.match, { accountTags: { team: ["payments"] } });
      assert.deepEqual(config.accountScope, { include: [], exclude: ["999988887777"] });
      assert.deepEqual(config.organizations, { roleArn: undefined, cacheMinutes: 15 });
      assert.equal(config.pagerduty.mode, "create", "the default route is the stack's own PagerDuty side");
    });

    it("gives each route the stack's support hours, or its own, and ships only its own to the function", () => {
      const config = configFor(
        routes([
          { ...payments, supportHours: "Mon-Fri 08:00-16:00 America/New_York" },
          { name: "data", match: { resourceTags: { owner: "data" } }, existingServiceId: "PDATA01" },
          {
            name: "lab",
            match: { accounts: ["444455556666"] },
            existingServiceId: "PLAB001",
            supportHours: "always",
          },
        ]),
      );
      assert.deepEqual(
        config.routes.map((route) => route.supportHours),
        [
          { timeZone: "America/New_York", days: [1, 2, 3, 4, 5], startMinute: 480, endMinute: 960 },
          config.urgency.supportHours,
          undefined,
        ],
      );
      const settings = functionSettings({
        ...config,
        parameterName: config.parameterName,
        plan: deliveryPlan(config.delivery),
        deadLetterQueueUrl: "https://sqs.us-east-1.amazonaws.com/111122223333/dead-letters",
        stateTable: "state",
        routes: config.routes,
      });
      assert.deepEqual(
        settings.routes?.map((route) => route.supportHours),
        [config.routes[0]?.supportHours, undefined, null],
      );
      assert.throws(
        () => configFor(routes([{ ...payments, supportHours: "weekdays" }])),
        /config electriceye-pagerduty:routes\[0\]\.supportHours is "weekdays": expected "always" or days/,
      );
    });

    it("reads no routes for a stack without them, and does not read Organizations", () => {
      for (const stack of ["prod", "dev"]) {
        const config = configFor({}, stack);
        assert.deepEqual(config.routes, []);
        assert.equal(config.organizations, undefined);
      }
    });

    const cases: [string, Record<string, string>, RegExp][] = [
      [
        "an unknown match field",
        routes([{ ...payments, match: { acountTags: { team: "payments" } } }]),
        /^config electriceye-pagerduty:routes\[0\]\.match\.acountTags is \{"team":"payments"\}: is not a match field; expected any of accounts, accountTags, organizationalUnits, resourceTags, products, severityLabels, controls, regions$/,
      ],
      [
        "two routes with one name",
        routes([payments, { ...payments, match: { accounts: ["111122223333"] } }]),
        /^config electriceye-pagerduty:routes\[1\]\.name is "payments": routes\[0\] has that name already; each route needs its own$/,
      ],
      [
        "a route an earlier one takes everything of",
        routes([
          { name: "eu", match: { regions: ["eu-west-1", "eu-central-1"] }, existingServiceId: "PEU0001" },
          {
            name: "eu-payments",
            match: { regions: ["eu-west-1"], accountTags: { team: "payments" } },
            existingServiceId: "PPAY001",
          },
        ]),
        /^config electriceye-pagerduty:routes\[1\]\.match is .*: can never match: routes\[0\] \(eu\) takes every finding it would; move it before that route or narrow that route$/,
      ],
      [
        "a tag key with no value",
        routes([{ ...payments, match: { accountTags: { team: "" } } }]),
        /^config electriceye-pagerduty:routes\[0\]\.match\.accountTags\.team is "": expected the tag's value or a list of values \(a key alone would match nothing\)$/,
      ],
      [
        "an empty match",
        routes([{ ...payments, match: {} }]),
        /^config electriceye-pagerduty:routes\[0\]\.match is \{\}: expected one or more of accounts, .* \(the default route takes what no route matches\)$/,
      ],
      [
        "an unknown route setting",
        routes([{ ...payments, service: "PPAY001" }]),
        /^config electriceye-pagerduty:routes\[0\]\.service is "PPAY001": is not a route setting; expected any of name, match, /,
      ],
      [
        "a route without a PagerDuty side",
        routes([{ name: "payments", match: { accounts: ["111122223333"] } }]),
        /^config electriceye-pagerduty:routes\[0\]\.escalationUserEmails and electriceye-pagerduty:routes\[0\]\.escalationScheduleNames are both empty/,
      ],
      [
        "a route with an existing key that is not set",
        routes([{ name: "payments", match: { accounts: ["111122223333"] }, existingRoutingKey: true }]),
        /^config electriceye-pagerduty:routes\[0\]\.existingRoutingKey is true: set the key as a secret: pulumi config set --secret --path 'electriceye-pagerduty:routeRoutingKeys\.payments' <routing key>$/,
      ],
      [
        "a malformed account",
        routes([{ ...payments, match: { accounts: ["1111-2222-3333"] } }]),
        /^config electriceye-pagerduty:routes\[0\]\.match\.accounts is "1111-2222-3333": expected 12-digit AWS account IDs$/,
      ],
      [
        "an account both included and excluded",
        { includeAccounts: '["999988887777"]' },
        /^config electriceye-pagerduty:excludeAccounts is "999988887777": is also in electriceye-pagerduty:includeAccounts/,
      ],
      [
        "more integrations than a route may have",
        routes([{ ...payments, integrations: 11 }]),
        /^config electriceye-pagerduty:routes\[0\]\.integrations is "11": expected a whole number from 1 to 10$/,
      ],
      [
        "integrations on a route with an existing routing key",
        {
          ...routes([
            {
              name: "payments",
              match: { accounts: ["111122223333"] },
              existingRoutingKey: true,
              integrations: 2,
            },
          ]),
          routeRoutingKeys: JSON.stringify({ payments: "e93facc04764012d7bfb002500d5d1a6" }),
        },
        /^config electriceye-pagerduty:routes\[0\]\.existingRoutingKey is set, and so is electriceye-pagerduty:routes\[0\]\.integrations: an existing routing key means nothing is created in PagerDuty/,
      ],
      [
        "the default route's name",
        routes([{ ...payments, name: "default" }]),
        /^config electriceye-pagerduty:routes\[0\]\.name is "default": expected a name of lowercase letters/,
      ],
    ];
    for (const [what, overrides, message] of cases) {
      it(`names the key, the value and what is allowed for ${what}`, () => {
        assert.throws(
          () => configFor(overrides),
          (error: Error) => {
            assert.ok(error instanceof ConfigError, error.message);
            assert.match(error.message, message);
            assert.equal(error.message.split("\n").length, 1);
            return true;
          },
        );
      });
    }

    it("takes a route's existing routing key from routeRoutingKeys, kept secret", async () => {
      const config = configFor({
        ...routes([{ name: "payments", match: { accounts: ["111122223333"] }, existingRoutingKey: true }]),
        routeRoutingKeys: JSON.stringify({ payments: "e93facc04764012d7bfb002500d5d1a6" }),
      });
      const pagerduty = config.routes[0]?.pagerduty;
      assert.equal(pagerduty?.mode, "existingKey");
      if (pagerduty?.mode !== "existingKey") return;
      assert.equal(
        await new Promise((resolve) => pagerduty.routingKey.apply(resolve)),
        "e93facc04764012d7bfb002500d5d1a6",
      );
      assert.equal(await pulumi.isSecret(pagerduty.routingKey), true);
    });

    it("inherits the escalation delay and loops from the stack, and names a route's own key in its errors", () => {
      const config = configFor({
        escalationDelayMinutes: "10",
        ...routes([
          {
            ...payments,
            existingServiceId: undefined,
            teamName: "Payments",
            escalationUserEmails: ["pay@example.com"],
          },
        ]),
      });
      const pagerduty = config.routes[0]?.pagerduty;
      assert.equal(pagerduty?.mode === "create" ? pagerduty.escalation.delayMinutes : undefined, 10);
      assert.throws(
        () =>
          configFor(
            routes([
              {
                ...payments,
                existingServiceId: undefined,
                teamName: "Payments",
                escalationUserEmails: ["pay@example.com"],
                escalationLoops: 12,
              },
            ]),
          ),
        /config electriceye-pagerduty:routes\[0\]\.escalationLoops is "12": expected a whole number from 0 to 9$/,
      );
    });
  });
});
