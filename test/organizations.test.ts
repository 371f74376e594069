import assert from "assert/strict";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import {
  createAccountFacts,
  organizationsReads,
  type OrganizationsReads,
} from "../handler/accounts/organizations";
import type { Clock } from "../handler/clock";
import { createJsonLogger } from "../handler/telemetry/log";
import { AwsError } from "../standins/awsJson";
import { startOrganizationsStandIn, type OrganizationsStandIn } from "../standins/organizations";
import { electricEyeFinding, importedEvent } from "../tools/simulation/findings";
import { sqsEvent } from "./support/fixtures";
import { PARAMETER_NAME, ROUTING_KEY, startWorld, type World } from "./support/world";

// Account tags and parents read from AWS Organizations over real HTTP, against a stand-in that pages, throttles,
// denies and does not know accounts outside the organization, as Organizations does.

const PAYMENTS = "111122223333";
const DATA = "444455556666";
const OUTSIDER = "999900001111";
const tree = () => ({
  rootId: "r-ab12",
  units: {
    "ou-ab12-workload": { name: "Workloads", parent: "r-ab12" },
    "ou-ab12-payments": { name: "Payments", parent: "ou-ab12-workload" },
  },
  accounts: {
    [PAYMENTS]: { tags: { team: "payments", cost: "cc-10", env: "prod" }, parent: "ou-ab12-payments" },
    [DATA]: { tags: {}, parent: "r-ab12" },
  },
});

/** Time moves only when the test advances it: a sleep never ends by itself (one aborted ends at once). */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = Date.parse("2026-03-02T10:00:00Z");
  return {
    now: () => now,
    sleep: (_ms, signal) =>
      new Promise((resolve) => {
        if (signal?.aborted === true) resolve();
        else signal?.addEventListener("abort", () => resolve(), { once: true });
      }),
    advance: (ms) => (now += ms),
  };
}

describe("account facts' lookup budget", () => {
  // Organizations as the benchmark has it: answers that take no time on the function's clock, however long the
  // machine running the simulation takes to give them.
  const slowMachine = (wallMs: number): OrganizationsReads => {
    const later = <T>(answer: T) => new Promise<T>((resolve) => setTimeout(() => resolve(answer), wallMs));
    return {
      listTags: () => later({ tags: { team: "payments" } }),
      listParents: () => later({ parents: [{ id: "r-ab12", type: "ROOT" }] }),
      describeUnit: () => later({}),
    };
  };
  const factsOn = (clock: Clock, reads: OrganizationsReads, logs: unknown[] = []) =>
    createAccountFacts({
      reads,
      ttlMs: 15 * 60_000,
      failureMemoryMs: 60_000,
      budgetMs: 20,
      unitNames: false,
      clock,
      log: createJsonLogger((line) => logs.push(JSON.parse(line))),
    });

  it("is the function's clock's time, not the machine's: a lookup that used none of it is not cut short (the benchmark's default routes at 2,000,000 findings)", async () => {
    const logs: unknown[] = [];
    const lookup = await factsOn(manualClock(), slowMachine(60), logs)(PAYMENTS);
    assert.deepEqual(lookup, {
      kind: "known",
      facts: { tags: { team: "payments" }, parents: [{ id: "r-ab12" }] },
    });
    assert.deepEqual(logs, []);
  });

  it("still cuts short a lookup that ran past it on the function's clock", async () => {
    const passing: Clock = { now: () => 0, sleep: () => Promise.resolve() };
    const never: OrganizationsReads = {
      listTags: () => new Promise(() => undefined),
      listParents: () => new Promise(() => undefined),
      describeUnit: () => new Promise(() => undefined),
    };
    const lookup = await factsOn(passing, never)(PAYMENTS);
    assert.deepEqual(lookup, { kind: "unavailable", reason: "no answer within 20 ms" });
  });
});

describe("account facts from AWS Organizations, over real HTTP", () => {
  let organizations: OrganizationsStandIn;
  const logs: Record<string, unknown>[] = [];
  beforeEach(async () => {
    organizations = await startOrganizationsStandIn(tree());
    logs.length = 0;
  });
  afterEach(() => organizations.close());

  const reader = (clock: Clock, unitNames = true) =>
    createAccountFacts({
      reads: organizationsReads(
        new OrganizationsClient({
          endpoint: organizations.endpoint,
          region: "us-east-1",
          credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" },
          maxAttempts: 2,
        }),
      ),
      ttlMs: 15 * 60_000,
      failureMemoryMs: 60_000,
      budgetMs: 2_000,
      unitNames,
      clock,
      log: createJsonLogger((line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
    });

  it("follows every page of tags and parents up to the root, with the OUs' names, and caches them", async () => {
    const clock = manualClock();
    const facts = reader(clock);
    assert.deepEqual(await facts(PAYMENTS), {
      kind: "known",
      facts: {
        tags: { team: "payments", cost: "cc-10", env: "prod" },
        parents: [
          { id: "ou-ab12-payments", name: "Payments" },
          { id: "ou-ab12-workload", name: "Workloads" },
          { id: "r-ab12" },
        ],
      },
    });
    const calls = organizations.calls.length;
    // Three tags in pages of two, after the empty first page Organizations may give.
    assert.equal(organizations.calls.filter((call) => call.operation === "ListTagsForResource").length, 3);
    await facts(PAYMENTS);
    assert.equal(organizations.calls.length, calls, "answered from the cache");
    organizations.tagAccount(PAYMENTS, { team: "data" });
    clock.advance(15 * 60_000);
    const later = await facts(PAYMENTS);
    assert.equal(later.kind === "known" ? later.facts.tags.team : undefined, "data", "re-read after the TTL");
  });

  it("asks nothing of DescribeOrganizationalUnit when no route names an OU", async () => {
    await reader(manualClock(), false)(PAYMENTS);
    assert.ok(!organizations.calls.some((call) => call.operation === "DescribeOrganizationalUnit"));
  });

  it("takes an account Organizations does not know as outside the organization", async () => {
    assert.deepEqual(await reader(manualClock())(OUTSIDER), { kind: "notInOrganization" });
  });

  it("is unavailable when denied, remembers it for a while, then asks again", async () => {
    const clock = manualClock();
    const facts = reader(clock);
    organizations.failNext("ListTagsForResource", new AwsError("AccessDeniedException", "not authorized"));
    const denied = await facts(DATA);
    assert.equal(denied.kind, "unavailable");
    assert.match(denied.kind === "unavailable" ? denied.reason : "", /AccessDenied|not authorized/);
    const calls = organizations.calls.length;
    assert.equal((await facts(DATA)).kind, "unavailable");
    assert.equal(organizations.calls.length, calls, "no call while the failure is remembered");
    clock.advance(60_000);
    assert.equal((await facts(DATA)).kind, "known");
    assert.ok(logs.some((line) => line.message === "account facts unavailable; the default route is taken"));
  });

  it("rides out one throttled call (the SDK's retry), is unavailable when throttling lasts, and keeps facts read before", async () => {
    const clock = manualClock();
    const facts = reader(clock);
    organizations.failNext("ListParents", new AwsError("TooManyRequestsException", "Rate exceeded"));
    assert.equal((await facts(DATA)).kind, "known");
    clock.advance(15 * 60_000);
    organizations.failNext("*", new AwsError("TooManyRequestsException", "Rate exceeded"), 4);
    assert.equal((await facts(DATA)).kind, "known", "the facts read before are kept");
    assert.ok(
      logs.some((line) => line.message === "account facts refresh failed; using the ones read earlier"),
    );
    organizations.failNext("*", new AwsError("TooManyRequestsException", "Rate exceeded"), 4);
    assert.equal((await facts(PAYMENTS)).kind, "unavailable");
  });
});

describe("routes in the handler, over real HTTP (PagerDuty, SSM, Organizations stand-ins; dynalite)", () => {
  const PAYMENTS_KEY = "aaaabbbbccccddddeeeeffff00001111";
  const PAYMENTS_KEY_2 = "aaaabbbbccccddddeeeeffff00002222";
  const DATA_KEY = "0123456789abcdef0123456789abcdef";
  let world: World;
  let organizations: OrganizationsStandIn;
  let endpoint: string | undefined;
  before(async () => {
    world = await startWorld({ routingKeys: [ROUTING_KEY, PAYMENTS_KEY, PAYMENTS_KEY_2, DATA_KEY] });
    organizations = await startOrganizationsStandIn(tree());
    world.ssm.putParameter(`${PARAMETER_NAME}-payments`, PAYMENTS_KEY);
    world.ssm.putParameter(`${PARAMETER_NAME}-payments.key2`, PAYMENTS_KEY_2);
    world.ssm.putParameter(`${PARAMETER_NAME}-data`, DATA_KEY);
    endpoint = process.env.AWS_ENDPOINT_URL_ORGANIZATIONS;
    process.env.AWS_ENDPOINT_URL_ORGANIZATIONS = organizations.endpoint;
  });
  after(async () => {
    if (endpoint === undefined) Reflect.deleteProperty(process.env, "AWS_ENDPOINT_URL_ORGANIZATIONS");
    else process.env.AWS_ENDPOINT_URL_ORGANIZATIONS = endpoint;
    await organizations.close();
    await world.close();
  });

  const handler = (paymentsIntegrations = 1) =>
    world.handler(
      {},
      {
        routes: [
          {
            name: "data",
            match: { resourceTags: { owner: ["data"] } },
            parameterName: `${PARAMETER_NAME}-data`,
            serviceName: "Data",
          },
          {
            name: "payments",
            match: { accountTags: { team: ["payments"] } },
            parameterName: `${PARAMETER_NAME}-payments`,
            integrations: paymentsIntegrations,
            serviceName: "Payments",
          },
        ],
        accountScope: { include: [], exclude: [OUTSIDER] },
        organizations: { cacheMinutes: 15 },
      },
    );
  const finding = (bucket: string, account: string, changes: Record<string, unknown> = {}) => ({
    ...electricEyeFinding("s3-public-policy-critical", bucket, account),
    Workflow: { Status: "NEW" },
    ...changes,
  });
  const send = (fn: (event: unknown) => Promise<unknown>, raw: Record<string, unknown>) =>
    fn(sqsEvent([JSON.stringify(importedEvent([raw], new Date()))]));
  const openOn = (key: string) =>
    world.pagerduty.model.openAlerts().filter((alert) => alert.routingKey === key).length;

  it("pages each account's team, moves an alert whose resource is tagged to another team once, and leaves excluded accounts alone", async () => {
    const fn = handler();
    await send(fn, finding("ledger", PAYMENTS));
    await send(fn, finding("lake", DATA));
    await send(fn, finding("own-stack", OUTSIDER));
    assert.deepEqual([openOn(PAYMENTS_KEY), openOn(ROUTING_KEY), openOn(DATA_KEY)], [1, 1, 0]);

    // Someone tags the ledger bucket owner=data: its alert leaves payments for data, once.
    const tagged: Record<string, unknown> = finding("ledger", PAYMENTS, {
      UpdatedAt: "2026-03-02T12:00:00.000Z",
    });
    const [resource] = tagged.Resources as Record<string, unknown>[];
    tagged.Resources = [{ ...resource, Tags: { owner: "data" } }];
    const before = world.pagerduty.model.accepted().length;
    await send(fn, tagged);
    await send(fn, tagged);
    const moves = world.pagerduty.model.accepted().slice(before);
    assert.deepEqual(
      moves.map((event) => [event.routingKey, event.action]),
      [
        [PAYMENTS_KEY, "resolve"],
        [DATA_KEY, "trigger"],
      ],
    );
    assert.deepEqual([openOn(PAYMENTS_KEY), openOn(DATA_KEY)], [0, 1]);
    assert.ok(
      world.logs.some(
        (line) => line.message === "finding skipped" && String(line.reason).includes("excluded"),
      ),
    );
  });

  it("spreads a route's new alerts over its integrations, and keeps each open alert on the key it opened on when they are added", async () => {
    const buckets = (prefix: string) => Array.from({ length: 8 }, (_, index) => `${prefix}-${index}`);
    const one = handler(1);
    for (const bucket of buckets("before")) await send(one, finding(bucket, PAYMENTS));
    assert.deepEqual([openOn(PAYMENTS_KEY), openOn(PAYMENTS_KEY_2)], [8, 0]);

    const two = handler(2);
    for (const bucket of buckets("after")) await send(two, finding(bucket, PAYMENTS));
    const [first, second] = [openOn(PAYMENTS_KEY) - 8, openOn(PAYMENTS_KEY_2)];
    assert.equal(first + second, 8);
    assert.ok(first > 0 && second > 0, `new alerts on both keys: ${first} and ${second}`);

    // The alerts opened before are updated and resolved where they are: PagerDuty deduplicates per integration.
    const before = world.pagerduty.model.accepted().length;
    const later = { UpdatedAt: "2026-03-02T12:00:00.000Z" };
    const passed = { UpdatedAt: "2026-03-02T13:00:00.000Z", Compliance: { Status: "PASSED" } };
    for (const bucket of buckets("before"))
      await send(two, finding(bucket, PAYMENTS, { ...later, Severity: { Label: "HIGH", Normalized: 70 } }));
    for (const bucket of buckets("before")) await send(two, finding(bucket, PAYMENTS, passed));
    const sent = world.pagerduty.model.accepted().slice(before);
    assert.deepEqual(
      [...new Set(sent.map((event) => event.routingKey))],
      [PAYMENTS_KEY],
      "every event of an alert goes to its own key",
    );
    assert.deepEqual(
      sent.map((event) => event.action),
      [...buckets("before").map(() => "trigger"), ...buckets("before").map(() => "resolve")],
    );
    assert.deepEqual([openOn(PAYMENTS_KEY), openOn(PAYMENTS_KEY_2)], [first, second]);
  });

  it("takes the default route when Organizations denies, and pages anyway", async () => {
    organizations.failNext("*", new AwsError("AccessDeniedException", "not authorized"), 4);
    const fn = handler();
    const before = world.pagerduty.model.accepted().length;
    await send(fn, finding("vault", PAYMENTS));
    assert.deepEqual(
      world.pagerduty.model
        .accepted()
        .slice(before)
        .map((event) => [event.routingKey, event.action]),
      [[ROUTING_KEY, "trigger"]],
    );
    assert.ok(world.logs.some((line) => line.message === "default route taken: account facts unavailable"));
  });
});
