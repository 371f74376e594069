import * as pulumi from "@pulumi/pulumi";

// PagerDuty's v3 webhook subscription, created through its REST API by a Pulumi dynamic provider. The Terraform
// bridge (@pulumi/pagerduty 3.4.0) creates subscriptions but does not return their signing secret, which PagerDuty
// reveals once, in the answer to the create call; this provider keeps it, as a secret output, so that the program
// can store it in an SSM SecureString for the endpoint to verify signatures with.

export const PAGERDUTY_API_URLS = {
  us: "https://api.pagerduty.com",
  eu: "https://api.eu.pagerduty.com",
} as const;

export interface WebhookSubscriptionInputs {
  /** A PagerDuty REST API token with write access. */
  token: string;
  apiUrl: string;
  serviceId: string;
  url: string;
  events: string[];
  description: string;
}

export interface WebhookSubscriptionOutputs extends WebhookSubscriptionInputs {
  /** The signing secret, revealed by PagerDuty only when the subscription is created. */
  secret: string;
}

/** Calls PagerDuty's REST API; an error names the call, the status and PagerDuty's messages, never the token. */
async function callPagerDuty(
  inputs: Pick<WebhookSubscriptionInputs, "token" | "apiUrl">,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${inputs.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Token token=${inputs.token}`,
      accept: "application/vnd.pagerduty+json;version=2",
      "content-type": "application/json",
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) {
    let detail = text.slice(0, 300);
    try {
      const error = (JSON.parse(text) as { error?: { message?: string; errors?: string[] } }).error;
      detail = [error?.message, ...(error?.errors ?? [])].filter(Boolean).join("; ");
    } catch {
      // Not JSON: the text itself is the best description there is.
    }
    throw new Error(`PagerDuty ${method} ${path} answered ${response.status}: ${detail}`);
  }
  return text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
}

function subscriptionBody(inputs: WebhookSubscriptionInputs) {
  return {
    webhook_subscription: {
      type: "webhook_subscription",
      description: inputs.description,
      delivery_method: { type: "http_delivery_method", url: inputs.url },
      events: inputs.events,
      filter: { type: "service_reference", id: inputs.serviceId },
    },
  };
}

export const webhookSubscriptionProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: WebhookSubscriptionInputs) {
    const answer = await callPagerDuty(inputs, "POST", "/webhook_subscriptions", subscriptionBody(inputs));
    const subscription = answer.webhook_subscription as {
      id?: string;
      delivery_method?: { secret?: string };
    };
    const secret = subscription.delivery_method?.secret;
    if (subscription.id === undefined || secret === undefined || secret === "")
      throw new Error("PagerDuty created the webhook subscription but returned no id or signing secret");
    const outs: WebhookSubscriptionOutputs = { ...inputs, secret };
    return { id: subscription.id, outs };
  },
  async diff(_id, olds: WebhookSubscriptionOutputs, news: WebhookSubscriptionInputs) {
    // Another service or account means another subscription; the rest is updated in place.
    const replaces = (["serviceId", "apiUrl"] as const).filter((key) => olds[key] !== news[key]);
    const changed =
      replaces.length > 0 ||
      olds.url !== news.url ||
      olds.description !== news.description ||
      olds.token !== news.token ||
      JSON.stringify(olds.events) !== JSON.stringify(news.events);
    return { changes: changed, replaces, deleteBeforeReplace: false };
  },
  async update(id, olds: WebhookSubscriptionOutputs, news: WebhookSubscriptionInputs) {
    await callPagerDuty(news, "PUT", `/webhook_subscriptions/${id}`, subscriptionBody(news));
    // PagerDuty does not reveal the secret again; the one from the creation stays valid.
    const outs: WebhookSubscriptionOutputs = { ...news, secret: olds.secret };
    return { outs };
  },
  async delete(id, props: WebhookSubscriptionOutputs) {
    try {
      await callPagerDuty(props, "DELETE", `/webhook_subscriptions/${id}`);
    } catch (error) {
      // Already gone is what delete wants.
      if (!(error instanceof Error && / answered 404:/.test(error.message))) throw error;
    }
  },
};

export interface WebhookSubscriptionArgs {
  token: pulumi.Input<string>;
  apiUrl: pulumi.Input<string>;
  serviceId: pulumi.Input<string>;
  url: pulumi.Input<string>;
  events: pulumi.Input<string[]>;
  description: pulumi.Input<string>;
}

export class PagerDutyWebhookSubscription extends pulumi.dynamic.Resource {
  declare readonly secret: pulumi.Output<string>;

  constructor(name: string, args: WebhookSubscriptionArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      webhookSubscriptionProvider,
      name,
      { ...args, token: pulumi.secret(args.token), secret: undefined },
      {
        ...opts,
        additionalSecretOutputs: ["secret", "token"],
      },
    );
  }
}
