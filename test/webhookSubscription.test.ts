import assert from "assert/strict";
import {
  webhookSubscriptionProvider as provider,
  type WebhookSubscriptionInputs,
  type WebhookSubscriptionOutputs,
} from "../infra/webhookSubscription";
import { startPagerDutyRestStandIn, type PagerDutyRestStandIn } from "../standins/pagerdutyRest";

// The dynamic provider that creates PagerDuty's webhook subscription, against a strict stand-in of PagerDuty's
// REST API: the signing secret is captured at creation, kept through updates, and never in an error.

const TOKEN = "u+pagerdutyRestApiToken0123";

describe("the webhook subscription's dynamic provider, over HTTP", () => {
  let api: PagerDutyRestStandIn;
  let inputs: WebhookSubscriptionInputs;
  beforeEach(async () => {
    api = await startPagerDutyRestStandIn(TOKEN);
    inputs = {
      token: TOKEN,
      apiUrl: api.url,
      serviceId: "PSVC001",
      url: "https://abc.lambda-url.us-east-1.on.aws/",
      events: ["incident.triggered", "incident.resolved"],
      description: "electriceye-pagerduty (test)",
    };
  });
  afterEach(() => api.close());

  it("creates the subscription on the service and keeps the secret PagerDuty reveals only then", async () => {
    const created = await provider.create(inputs);
    const outs = created.outs as WebhookSubscriptionOutputs;
    const [subscription] = api.subscriptions();
    assert.equal(created.id, subscription?.id);
    assert.equal(outs.secret, subscription?.secret);
    assert.ok(outs.secret.length >= 24);
    assert.equal(subscription?.serviceId, "PSVC001");
    assert.equal(subscription?.url, inputs.url);
  });

  it("updates the URL and events in place and keeps the secret; another service means a new subscription", async () => {
    const created = await provider.create(inputs);
    const olds = created.outs as WebhookSubscriptionOutputs;
    const moved = { ...inputs, url: "https://def.lambda-url.us-east-1.on.aws/" };
    const diff = await provider.diff?.(created.id, olds, moved);
    assert.deepEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: false });
    const updated = await provider.update?.(created.id, olds, moved);
    assert.equal((updated?.outs as WebhookSubscriptionOutputs).secret, olds.secret);
    assert.equal(api.subscriptions()[0]?.url, moved.url);
    assert.deepEqual(
      (await provider.diff?.(created.id, olds, { ...inputs, serviceId: "POTHER1" }))?.replaces,
      ["serviceId"],
    );
    assert.equal((await provider.diff?.(created.id, olds, inputs))?.changes, false);
  });

  it("deletes the subscription, and deleting one already gone is fine", async () => {
    const created = await provider.create(inputs);
    await provider.delete?.(created.id, created.outs);
    assert.deepEqual(api.subscriptions(), []);
    await provider.delete?.(created.id, created.outs);
  });

  it("names PagerDuty's refusal without ever printing the token", async () => {
    await assert.rejects(
      provider.create({ ...inputs, token: "u+wrongTokenValue00000000" }),
      (error: Error) => {
        assert.match(error.message, /^PagerDuty POST \/webhook_subscriptions answered 401: Unauthorized$/);
        assert.ok(!error.message.includes("wrongTokenValue"));
        return true;
      },
    );
    await assert.rejects(
      provider.create({ ...inputs, url: "http://plain.example.com/" }),
      /answered 400: Invalid Input Provided; Delivery method URL must be an https URL/,
    );
  });
});
