import { AWS_CLIENT_CONFIG } from "../awsClients";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { SSMClient } from "@aws-sdk/client-ssm";
import { systemClock, type Clock } from "../clock";
import type { PacingStore } from "../delivery/pacing";
import { createSecretParameter, type ParameterReader } from "../secretParameter";
import { createSsmReader } from "../ssm";
import { stateTableStores } from "../state/dynamo";
import type { AlertStore } from "../state/store";
import { createJsonLogger, errorText, type Logger } from "../telemetry/log";
import { createMeter } from "../telemetry/metrics";
import type { WebhookLedger } from "./ledger";
import { createSecurityHubUpdater, refOf, type FindingUpdater } from "./securityHub";
import {
  MAX_BODY_BYTES,
  MAX_EVENT_AGE_MS,
  effectOf,
  groupEffectOf,
  readWebhook,
  signatureMatches,
} from "./webhook";
import type { GroupStore } from "../state/groupStore";
import type { GroupState } from "../state/groups";
import { createSecurityHubWriter } from "./writeBack";

// The HTTPS endpoint PagerDuty's webhook subscription delivers to (a Lambda function URL). It verifies the
// signature with the subscription's secret (read from SSM, never from the environment), and turns what responders
// do in PagerDuty into notes and workflow changes on the finding in Security Hub. Whatever it rejects has no side
// effect; whatever fails to apply is answered 5xx so that PagerDuty delivers it again.

export interface WebhookSettings {
  /** The stack the endpoint belongs to: the dimension of its metrics. */
  stack: string;
  /** The SSM SecureString holding the subscription's signing secret. */
  secretParameterName: string;
  /** The PagerDuty service whose incidents this stack pages with; events of any other are refused. */
  serviceId: string;
  /** Each route's service, with the signing secret of its own subscription; events of these are accepted too. */
  routes?: { serviceId: string; secretParameterName: string }[];
  stateTable?: string;
  secretTtlSeconds: number;
}

const NAMES = {
  stack: "STACK_NAME",
  secretParameterName: "WEBHOOK_SECRET_PARAMETER",
  serviceId: "PAGERDUTY_SERVICE_ID",
  stateTable: "STATE_TABLE",
  secretTtlSeconds: "WEBHOOK_SECRET_TTL_SECONDS",
  routes: "WEBHOOK_ROUTES",
} as const;

export function webhookSettingsToEnvironment(settings: WebhookSettings): Record<string, string> {
  return {
    [NAMES.stack]: settings.stack,
    [NAMES.secretParameterName]: settings.secretParameterName,
    [NAMES.serviceId]: settings.serviceId,
    [NAMES.secretTtlSeconds]: String(settings.secretTtlSeconds),
    ...(settings.stateTable === undefined ? {} : { [NAMES.stateTable]: settings.stateTable }),
    ...(settings.routes === undefined || settings.routes.length === 0
      ? {}
      : { [NAMES.routes]: JSON.stringify(settings.routes) }),
  };
}

export function webhookSettingsFromEnvironment(env: Record<string, string | undefined>): WebhookSettings {
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (value === undefined || value === "") throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  const ttl = Number(env[NAMES.secretTtlSeconds] ?? "300");
  if (!Number.isFinite(ttl) || ttl <= 0)
    throw new Error(
      `environment variable ${NAMES.secretTtlSeconds} is "${env[NAMES.secretTtlSeconds]}": expected a positive number`,
    );
  const stateTable = env[NAMES.stateTable]?.trim();
  const routesText = env[NAMES.routes]?.trim();
  let routes: unknown;
  try {
    routes = routesText === undefined || routesText === "" ? [] : JSON.parse(routesText);
  } catch {
    routes = undefined;
  }
  if (
    !Array.isArray(routes) ||
    !routes.every(
      (route: Record<string, unknown>) =>
        typeof route?.serviceId === "string" && typeof route.secretParameterName === "string",
    )
  )
    throw new Error(
      `environment variable ${NAMES.routes} is "${routesText ?? ""}": expected a JSON list of {serviceId, secretParameterName}`,
    );
  return {
    ...(routes.length === 0 ? {} : { routes: routes as NonNullable<WebhookSettings["routes"]> }),
    stack: env[NAMES.stack]?.trim() || "unknown",
    secretParameterName: required(NAMES.secretParameterName),
    serviceId: required(NAMES.serviceId),
    secretTtlSeconds: ttl,
    ...(stateTable === undefined || stateTable === "" ? {} : { stateTable }),
  };
}

export interface WebhookDependencies {
  clock: Clock;
  random: () => number;
  readParameter: ParameterReader;
  alertStore: AlertStore;
  /** The group records (alertPer: control), in the same table. */
  groupStore: GroupStore;
  ledger: WebhookLedger;
  pacingStore: PacingStore;
  findingUpdater: FindingUpdater;
  log: Logger;
  /** Where the embedded-metric-format lines go (standard output in Lambda). */
  writeMetrics: (line: string) => void;
}

/** A Lambda function URL request (payload format 2.0), the parts this endpoint reads. */
export interface FunctionUrlRequest {
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { http?: { method?: string } };
}

export interface FunctionUrlResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

// PagerDuty waits five seconds for an answer; the rest of the budget is spent applying.
const ANSWER_WITHIN_MS = 4_000;
/** After a rotation, deliveries signed with the secret replaced (retries of the subscription replaced) still count. */
export const ROTATION_GRACE_MS = 3600_000;

export function createWebhookHandler(
  settings: WebhookSettings,
  overrides: Partial<WebhookDependencies> = {},
) {
  const clock = overrides.clock ?? systemClock;
  const log = overrides.log ?? createJsonLogger();
  const meter = createMeter(settings.stack, overrides.writeMetrics);
  const stores = stateTableStores(settings.stateTable);
  const alertStore = overrides.alertStore ?? stores.alerts();
  const groupStore = overrides.groupStore ?? stores.groups();
  const ledger = overrides.ledger ?? stores.ledger();
  const readParameter = overrides.readParameter ?? createSsmReader(new SSMClient(AWS_CLIENT_CONFIG));
  // Each service has its own subscription, signed with its own secret.
  const services = [
    { serviceId: settings.serviceId, secretParameterName: settings.secretParameterName },
    ...(settings.routes ?? []),
  ].map(({ serviceId, secretParameterName }) => ({
    serviceId,
    secret: createSecretParameter({
      parameterName: secretParameterName,
      what: "webhook signing secret",
      expected: "a PagerDuty webhook signing secret",
      problemOf: (value) =>
        value.length < 16 ? `it has ${value.length} characters, too few for a signing secret` : undefined,
      read: readParameter,
      ttlMs: settings.secretTtlSeconds * 1000,
      graceMs: ROTATION_GRACE_MS,
      clock,
      log,
    }),
  }));
  const write = createSecurityHubWriter({
    updater: overrides.findingUpdater ?? createSecurityHubUpdater(new SecurityHubClient(AWS_CLIENT_CONFIG)),
    pacingStore: overrides.pacingStore ?? stores.pacing(),
    clock,
    random: overrides.random ?? Math.random,
    log,
    meter,
  });

  const answer = (statusCode: number, status: string, reason?: string): FunctionUrlResponse => {
    if (statusCode >= 400 && statusCode < 500) {
      meter.count("WebhooksRefused");
      log.warn("webhook refused", { statusCode, reason });
    }
    if (statusCode >= 500) meter.count("WebhooksUnavailable");
    if (status === "applied") meter.count("WebhooksApplied");
    return {
      statusCode,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(reason === undefined ? { status } : { status, reason }),
    };
  };

  /**
   * Whether the body is signed with a subscription's secret: the one known, else the one in SSM now (a rotation
   * this container has not seen yet; re-read at most once a second), else the one that version replaced, within the
   * grace period after the rotation (a delivery signed before it). "unseen": no secret matches, and SSM was not read
   * for this request (the secret was read moments ago, or reads back off), so a rotation written since the last read
   * is not seen yet.
   */
  async function signedBy(
    body: Buffer,
    signature: string,
    deadline: number,
    secret: (typeof services)[number]["secret"],
  ): Promise<"signed" | "not" | "unseen"> {
    const reads = secret.reads();
    const current = await secret.get(deadline);
    if (signatureMatches(body, signature, current)) return "signed";
    const fresh = await secret.reread(deadline);
    if (fresh !== current && signatureMatches(body, signature, fresh)) return "signed";
    if ((await secret.previous()).some((value) => signatureMatches(body, signature, value))) return "signed";
    return secret.reads() > reads ? "not" : "unseen";
  }

  /**
   * The service whose subscription signed the body, if one did ("unseen": perhaps one whose secret was rotated
   * moments ago). A secret that cannot be read only fails the request when no other service's secret signed it: one
   * route's broken parameter must not refuse another's.
   */
  async function signer(
    body: Buffer,
    signature: string,
    deadline: number,
  ): Promise<string | "unseen" | undefined> {
    let unreadable: unknown;
    let unseen = false;
    for (const service of services) {
      try {
        const signed = await signedBy(body, signature, deadline, service.secret);
        if (signed === "signed") return service.serviceId;
        if (signed === "unseen") unseen = true;
      } catch (error) {
        unreadable ??= error;
      }
    }
    if (unreadable !== undefined) throw unreadable;
    return unseen ? "unseen" : undefined;
  }

  return async function handler(request: FunctionUrlRequest): Promise<FunctionUrlResponse> {
    try {
      return await handle(request);
    } finally {
      meter.flush();
    }
  };

  async function handle(request: FunctionUrlRequest): Promise<FunctionUrlResponse> {
    const deadline = clock.now() + ANSWER_WITHIN_MS;
    if ((request.requestContext?.http?.method ?? "POST") !== "POST")
      return answer(405, "refused", "only POST is accepted");
    const raw = request.body ?? "";
    // Checked before decoding or hashing: an oversized body costs nothing.
    if (raw.length > (MAX_BODY_BYTES * 4) / 3 + 4)
      return answer(413, "refused", `body over ${MAX_BODY_BYTES} bytes`);
    const body = Buffer.from(raw, request.isBase64Encoded === true ? "base64" : "utf8");
    if (body.length > MAX_BODY_BYTES) return answer(413, "refused", `body over ${MAX_BODY_BYTES} bytes`);
    const signature = request.headers?.["x-pagerduty-signature"];
    if (signature === undefined) return answer(401, "refused", "unsigned");
    let signedFor: string | undefined;
    try {
      signedFor = await signer(body, signature, deadline);
    } catch (error) {
      log.error("webhook signing secret unavailable", { error: errorText(error) });
      return answer(503, "unavailable", "the signing secret cannot be read");
    }
    if (signedFor === undefined) return answer(401, "refused", "signature does not match");
    // PagerDuty delivers a 5xx again, and by then this container reads the secret again.
    if (signedFor === "unseen")
      return answer(
        503,
        "unavailable",
        "signature does not match the secret read moments ago, which may have been rotated since",
      );
    const reading = readWebhook(body.toString("utf8"));
    if (reading.kind === "invalid") return answer(400, "refused", reading.reason);
    if (reading.kind === "ignored") return answer(200, "ignored", reading.reason);
    const { event } = reading;
    // A subscription speaks for its own service only.
    if (event.incident.serviceId !== undefined && event.incident.serviceId !== signedFor)
      return answer(
        403,
        "refused",
        `the incident belongs to service ${event.incident.serviceId}, not the one whose subscription signed it`,
      );
    // Signed by PagerDuty: a 4xx would make PagerDuty drop it and count against the subscription.
    if (clock.now() - event.occurredAt > MAX_EVENT_AGE_MS) {
      meter.count("WebhooksTooOld");
      log.warn("webhook event too old to apply", { eventId: event.id, occurredAt: event.occurredAt });
      return answer(200, "ignored", "the event is too old to apply");
    }

    const fields = { eventId: event.id, eventType: event.type, incidentId: event.incident.id };
    try {
      const taken = await ledger.claim(event.id, clock.now());
      if (taken === "applied") {
        log.info("webhook event already applied", fields);
        return answer(200, "duplicate");
      }
      // Its first delivery is still being applied, and may yet fail: PagerDuty delivers a 5xx again.
      if (taken === "inProgress") return answer(503, "unavailable", "the event is being applied");
    } catch (error) {
      log.error("webhook ledger unavailable", { ...fields, error: errorText(error) });
      return answer(503, "unavailable", "the state table cannot be used");
    }
    try {
      const status = await apply(event, deadline, fields);
      await ledger.settle(event.id, true, clock.now());
      return answer(200, status);
    } catch (error) {
      log.error("webhook event not applied; PagerDuty will deliver it again", {
        ...fields,
        error: errorText(error),
      });
      await ledger.settle(event.id, false, clock.now()).catch(() => undefined);
      return answer(503, "unavailable", "the event could not be applied");
    }
  }

  /** Applies one event; throws when it must be delivered again. */
  async function apply(
    event: Extract<ReturnType<typeof readWebhook>, { kind: "event" }>["event"],
    deadline: number,
    fields: Record<string, unknown>,
  ): Promise<string> {
    const dedupKey = event.incident.incidentKey ?? (await ledger.dedupKeyOfIncident(event.incident.id));
    const state = dedupKey === undefined ? undefined : await alertStore.get(dedupKey);
    const group = dedupKey !== undefined && state === undefined ? await groupStore.get(dedupKey) : undefined;
    if (dedupKey !== undefined && group !== undefined) return applyToGroup(event, group, deadline, fields);
    if (dedupKey === undefined || state === undefined) {
      log.info("webhook event for no finding of this stack", fields);
      return "ignored";
    }
    const effect = effectOf(event, state);
    if (effect.kind === "ignore") {
      if (effect.next !== undefined && !(await alertStore.put(effect.next, state.version, clock.now())))
        throw new Error("the alert state changed meanwhile");
      log.info("webhook event changes nothing", { ...fields, dedupKey, reason: effect.reason });
      return "ignored";
    }
    // The alert state takes the effect even when Security Hub cannot be told (a responder's hold still holds).
    // A hold is recorded before Security Hub is told: the echo of its RESOLVED must find the alert resolved by the
    // responder, not close it as the finding's own resolution; a retry after a failed write tells Security Hub again.
    const record = async () => {
      if (effect.next !== undefined && !(await alertStore.put(effect.next, state.version, clock.now())))
        throw new Error("the alert state changed meanwhile");
    };
    const holds = effect.next?.closedBy === "responder";
    if (holds) await record();
    const ref = refOf(state.finding);
    if (ref === undefined) {
      log.info("Security Hub not updated", {
        ...fields,
        dedupKey,
        reason: "the finding does not say its product (and, in OCSF, its account)",
      });
    } else {
      const result = await write(
        {
          findings: [ref],
          note: effect.note,
          ...(effect.workflow === undefined ? {} : { workflow: effect.workflow }),
        },
        deadline,
      );
      // A finding Security Hub no longer holds is logged by the writer; only a passing failure is worth a retry.
      if (result.retryable) throw new Error("Security Hub did not take the update");
    }
    if (!holds) await record();
    if (state.incident?.id !== event.incident.id)
      await ledger.rememberIncident(event.incident.id, dedupKey, clock.now());
    log.info("webhook event applied", { ...fields, dedupKey, workflow: effect.workflow });
    return "applied";
  }

  /**
   * An event of a group's incident: the group's record takes it first (a responder's hold holds even when Security
   * Hub cannot be told), then every listed member is told, in calls of up to 100 on Security Hub's schedule.
   */
  async function applyToGroup(
    event: Extract<ReturnType<typeof readWebhook>, { kind: "event" }>["event"],
    group: GroupState,
    deadline: number,
    fields: Record<string, unknown>,
  ): Promise<string> {
    const effect = groupEffectOf(event, group);
    const dedupKey = group.dedupKey;
    if (effect.kind === "ignore") {
      log.info("webhook event changes nothing", { ...fields, dedupKey, reason: effect.reason });
      return "ignored";
    }
    if (effect.next !== undefined && !(await groupStore.put(effect.next, group.version, clock.now())))
      throw new Error("the group's record changed meanwhile");
    const refs = Object.values(group.findings ?? {}).flatMap((finding) => refOf(finding) ?? []);
    if (refs.length > 0) {
      const result = await write(
        {
          findings: refs,
          note: effect.note,
          ...(effect.workflow === undefined ? {} : { workflow: effect.workflow }),
        },
        deadline,
      );
      if (result.retryable) throw new Error("Security Hub did not take the update");
    }
    if (group.incident?.id !== event.incident.id)
      await ledger.rememberIncident(event.incident.id, dedupKey, clock.now());
    log.info("webhook event applied", {
      ...fields,
      dedupKey,
      members: refs.length,
      workflow: effect.workflow,
    });
    return "applied";
  }
}
