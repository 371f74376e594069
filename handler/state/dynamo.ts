import { AWS_CLIENT_CONFIG } from "../awsClients";
import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from "@aws-sdk/client-dynamodb";
import { createMemoryPacingStore, type PacingState, type PacingStore } from "../delivery/pacing";
import { expiryOf, type AlertState } from "./alerts";
import { FACT_KINDS, type Fact, type FactKind } from "./history";
import {
  EVENT_MEMORY_MS,
  INCIDENT_MEMORY_MS,
  STALE_CLAIM_MS,
  claimOf,
  createMemoryWebhookLedger,
  type WebhookLedger,
} from "../sync/ledger";
import { createMemoryAlertStore, type AlertStore } from "./store";
import { createMemoryGroupStore, type GroupStore } from "./groupStore";
import type { GroupState } from "./groups";

// The state shared by every container of a stack, in one DynamoDB table keyed by "id": the routing key's send
// schedule (one item), the alert state of each finding (one item each; resolved ones expire by the table's TTL,
// open ones never do), and the webhook's ledger.

/** Matched by name: the runtime's SDK copy may differ from the one this file was built against. */
function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

/** The send schedule as one item, swapped with a conditional write. */
export function createDynamoPacingStore(client: DynamoDBClient, tableName: string): PacingStore {
  return {
    async swap(id, expected, next) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              id: { S: id },
              tat: { N: String(next.tat) },
              ...(next.urgentRun === undefined ? {} : { urgentRun: { N: String(next.urgentRun) } }),
            },
            ConditionExpression: expected === undefined ? "attribute_not_exists(id)" : "tat = :expected",
            ...(expected === undefined
              ? {}
              : { ExpressionAttributeValues: { ":expected": { N: String(expected.tat) } } }),
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return { ok: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // DynamoDB returns the item that failed the condition; implementations that do not are read again.
        const current = pacingStateOf((error as { Item?: Record<string, AttributeValue> }).Item);
        return { ok: false, current: current ?? pacingStateOf(await readItem(client, tableName, id)) };
      }
    },
  };
}

/** One item by its id, read consistently: every record of the table is decided on what was last written. */
export async function readItem(
  client: DynamoDBClient,
  tableName: string,
  id: string,
): Promise<Record<string, AttributeValue> | undefined> {
  const output = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }),
  );
  return output.Item;
}

function pacingStateOf(item: Record<string, AttributeValue> | undefined): PacingState | undefined {
  const tat = item?.tat?.N;
  if (tat === undefined) return undefined;
  const run = item?.urgentRun?.N;
  return run === undefined ? { tat: Number(tat) } : { tat: Number(tat), urgentRun: Number(run) };
}

const ALERT_PREFIX = "alert#";

/** The times by which a responder's actions are judged against the finding's imports (alerts.ts), as numbers. */
const RESPONDER_TIMES = [
  "stillFailing",
  "responderAt",
  "openedFrom",
  "passedAt",
  "heldBefore",
  "heldAfter",
] as const;
/** The open alert's imports kept, by kind (alerts.ts), as lists of numbers. */
const IMPORT_TIMES = ["failedAt", "belowAt"] as const;

/** A fact of a finding's history as a map: its time, its kind and, for Security Hub's, its feed. */
function factItem(fact: Fact): AttributeValue {
  return {
    M: {
      at: { N: String(fact.at) },
      kind: { S: fact.kind },
      ...(fact.format === undefined ? {} : { format: { S: fact.format } }),
      ...(fact.inferred === true ? { inferred: { BOOL: true } } : {}),
    },
  };
}

/** A stored fact; one the code no longer knows (written by a later version) is dropped. */
function factOf(value: AttributeValue): Fact[] {
  const map = value.M;
  const kind = map?.kind?.S;
  const at = Number(map?.at?.N);
  if (kind === undefined || !(FACT_KINDS as readonly string[]).includes(kind) || Number.isNaN(at)) return [];
  const format = map?.format?.S;
  return [
    {
      at,
      kind: kind as FactKind,
      ...(format === "asff" || format === "ocsf" ? { format } : {}),
      ...(map?.inferred?.BOOL === true ? { inferred: true as const } : {}),
    },
  ];
}

function toItem(state: AlertState, now: number): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    id: { S: `${ALERT_PREFIX}${state.dedupKey}` },
    status: { S: state.status },
    updatedAt: { N: String(state.updatedAt) },
    fingerprints: {
      M: Object.fromEntries(
        Object.entries(state.fingerprints).map(([format, fingerprint]): [string, AttributeValue] => [
          format,
          { S: fingerprint ?? "" },
        ]),
      ),
    },
    paged: { BOOL: state.paged },
    version: { N: String(state.version) },
  };
  if (state.sentAt !== undefined) item.sentAt = { N: String(state.sentAt) };
  if (state.closedBy !== undefined) item.closedBy = { S: state.closedBy };
  if (state.finding !== undefined) {
    item.findingId = { S: state.finding.id };
    if (state.finding.productArn !== undefined) item.productArn = { S: state.finding.productArn };
    if (state.finding.format !== undefined) item.findingFormat = { S: state.finding.format };
    if (state.finding.account !== undefined) item.findingAccount = { S: state.finding.account };
  }
  if (state.writeBack !== undefined) item.writeBack = { S: state.writeBack };
  if (state.incident !== undefined) {
    item.incidentId = { S: state.incident.id };
    if (state.incident.number !== undefined) item.incidentNumber = { N: String(state.incident.number) };
    if (state.incident.url !== undefined) item.incidentUrl = { S: state.incident.url };
  }
  if (state.route !== undefined) item.route = { S: state.route };
  if (state.movingFrom !== undefined) item.movingFrom = { S: state.movingFrom };
  if (state.openedAt !== undefined) item.openedAt = { N: String(state.openedAt) };
  if (state.reopened === true) item.reopened = { BOOL: true };
  if (state.pastResolution === true) item.pastResolution = { BOOL: true };
  if (state.group !== undefined) item.group = { S: state.group };
  if (state.leaving !== undefined) item.leaving = { S: state.leaving };
  if (state.byHand === true) item.byHand = { BOOL: true };
  for (const key of RESPONDER_TIMES) {
    const value = state[key];
    if (value !== undefined) item[key] = { N: String(value) };
  }
  for (const key of IMPORT_TIMES) {
    const times = state[key];
    if (times !== undefined) item[key] = { L: times.map((time) => ({ N: String(time) })) };
  }
  if (state.history !== undefined) item.history = { L: state.history.map(factItem) };
  if (state.owed !== undefined) {
    item.owedPagerDuty = { S: state.owed.pagerDuty };
    item.owedSentAt = { N: String(state.owed.sentAt) };
  }
  if (state.claim !== undefined) {
    item.claimVersion = { N: String(state.claim.version) };
    item.claimUntil = { N: String(state.claim.until) };
  }
  const expiresAt = expiryOf(state, now);
  if (expiresAt !== undefined) item.expiresAt = { N: String(expiresAt) };
  return item;
}

function fromItem(dedupKey: string, item: Record<string, AttributeValue>): AlertState {
  const text = (name: string) => item[name]?.S;
  const number = (name: string) => (item[name]?.N === undefined ? undefined : Number(item[name]?.N));
  const state: AlertState = {
    dedupKey,
    status: text("status") === "open" ? "open" : "resolved",
    updatedAt: number("updatedAt") ?? 0,
    fingerprints: Object.fromEntries(
      Object.entries(item.fingerprints?.M ?? {}).map(([format, value]) => [format, value.S ?? ""]),
    ),
    paged: item.paged?.BOOL === true,
    version: number("version") ?? 0,
  };
  const sentAt = number("sentAt");
  const closedBy = text("closedBy");
  const findingId = text("findingId");
  const productArn = text("productArn");
  if (sentAt !== undefined) state.sentAt = sentAt;
  if (closedBy === "finding" || closedBy === "responder") state.closedBy = closedBy;
  if (findingId !== undefined) {
    const format = text("findingFormat");
    const account = text("findingAccount");
    state.finding = {
      id: findingId,
      ...(productArn === undefined ? {} : { productArn }),
      ...(format === "asff" || format === "ocsf" ? { format } : {}),
      ...(account === undefined ? {} : { account }),
    };
  }
  if (text("writeBack") === "due") state.writeBack = "due";
  const route = text("route");
  const movingFrom = text("movingFrom");
  if (route !== undefined) state.route = route;
  if (movingFrom !== undefined) state.movingFrom = movingFrom;
  const openedAt = number("openedAt");
  if (openedAt !== undefined) state.openedAt = openedAt;
  if (item.reopened?.BOOL === true) state.reopened = true;
  if (item.pastResolution?.BOOL === true) state.pastResolution = true;
  if (item.byHand?.BOOL === true) state.byHand = true;
  const group = text("group");
  if (group !== undefined) state.group = group;
  const leaving = text("leaving");
  if (leaving !== undefined) state.leaving = leaving;
  for (const key of RESPONDER_TIMES) {
    const value = number(key);
    if (value !== undefined) state[key] = value;
  }
  for (const key of IMPORT_TIMES) {
    const times = item[key]?.L;
    if (times !== undefined) state[key] = times.map((time) => Number(time.N));
  }
  const history = item.history?.L;
  if (history !== undefined) state.history = history.flatMap(factOf);
  const owedPagerDuty = item.owedPagerDuty?.S;
  const owedSentAt = number("owedSentAt");
  if ((owedPagerDuty === "open" || owedPagerDuty === "resolved") && owedSentAt !== undefined)
    state.owed = { pagerDuty: owedPagerDuty, sentAt: owedSentAt };
  const claimVersion = number("claimVersion");
  const claimUntil = number("claimUntil");
  if (claimVersion !== undefined && claimUntil !== undefined)
    state.claim = { version: claimVersion, until: claimUntil };
  const incidentId = text("incidentId");
  if (incidentId !== undefined) {
    const incidentNumber = number("incidentNumber");
    const incidentUrl = text("incidentUrl");
    state.incident = {
      id: incidentId,
      ...(incidentNumber === undefined ? {} : { number: incidentNumber }),
      ...(incidentUrl === undefined ? {} : { url: incidentUrl }),
    };
  }
  return state;
}

/** BatchGetItem takes at most 100 keys a call. */
const BATCH_GET_KEYS = 100;
/** Calls of one getMany in flight at once. */
const BATCH_GET_PARALLEL = 8;
/** Rounds of UnprocessedKeys retried, with a doubling wait, before the rest is left to GetItem. */
const UNPROCESSED_ROUNDS = 4;
const UNPROCESSED_WAIT_MS = 50;

/** Alert state as one item per dedup key, each write conditional on the version it replaces. */
export function createDynamoAlertStore(
  client: DynamoDBClient,
  tableName: string,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): AlertStore {
  // One call of up to 100 keys, its UnprocessedKeys (throttling, 16 MB) asked again; what stays unread is absent,
  // and the caller's own read of it goes to GetItem.
  const batch = async (keys: string[], found: Map<string, AlertState>) => {
    let pending: Record<string, AttributeValue>[] = keys.map((key) => ({
      id: { S: `${ALERT_PREFIX}${key}` },
    }));
    for (let round = 0; pending.length > 0 && round <= UNPROCESSED_ROUNDS; round += 1) {
      if (round > 0) await sleep(UNPROCESSED_WAIT_MS * 2 ** (round - 1));
      const output = await client.send(
        new BatchGetItemCommand({
          RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      for (const item of output.Responses?.[tableName] ?? []) {
        const id = item.id?.S;
        if (id !== undefined)
          found.set(id.slice(ALERT_PREFIX.length), fromItem(id.slice(ALERT_PREFIX.length), item));
      }
      pending = output.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  };
  return {
    async getMany(dedupKeys) {
      const found = new Map<string, AlertState>();
      // DynamoDB refuses a call that names a key twice.
      const distinct = [...new Set(dedupKeys)];
      const chunks: string[][] = [];
      for (let start = 0; start < distinct.length; start += BATCH_GET_KEYS)
        chunks.push(distinct.slice(start, start + BATCH_GET_KEYS));
      for (let start = 0; start < chunks.length; start += BATCH_GET_PARALLEL)
        await Promise.all(
          chunks.slice(start, start + BATCH_GET_PARALLEL).map((chunk) => batch(chunk, found)),
        );
      return found;
    },
    async get(dedupKey) {
      const item = await readItem(client, tableName, `${ALERT_PREFIX}${dedupKey}`);
      return item === undefined ? undefined : fromItem(dedupKey, item);
    },
    put: (next, expected, now) => putOverVersion(client, tableName, toItem(next, now), expected),
  };
}

/**
 * Writes an item only over the version it replaces (undefined: only if there is none). Answers false when another
 * write came first; throws when the table cannot be reached.
 */
export async function putOverVersion(
  client: DynamoDBClient,
  tableName: string,
  item: Record<string, AttributeValue>,
  expected: number | undefined,
): Promise<boolean> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: item,
        ...(expected === undefined
          ? { ConditionExpression: "attribute_not_exists(id)" }
          : {
              ConditionExpression: "#version = :expected",
              ExpressionAttributeNames: { "#version": "version" },
              ExpressionAttributeValues: { ":expected": { N: String(expected) } },
            }),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** The webhook's ledger in the same table: "webhook#<event id>" and "incident#<incident id>" items, with a TTL. */
export function createDynamoWebhookLedger(client: DynamoDBClient, tableName: string): WebhookLedger {
  const seconds = (ms: number) => String(Math.floor(ms / 1000));
  const eventItem = (eventId: string, state: string, now: number) => ({
    id: { S: `webhook#${eventId}` },
    state: { S: state },
    at: { N: String(now) },
    expiresAt: { N: seconds(now + EVENT_MEMORY_MS) },
  });
  return {
    async claim(eventId, now) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: eventItem(eventId, "processing", now),
            ConditionExpression:
              "attribute_not_exists(id) OR #state = :failed OR (#state = :processing AND #at < :stale)",
            ExpressionAttributeNames: { "#state": "state", "#at": "at" },
            ExpressionAttributeValues: {
              ":failed": { S: "failed" },
              ":processing": { S: "processing" },
              ":stale": { N: String(now - STALE_CLAIM_MS) },
            },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
        return "claimed";
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // DynamoDB returns the item that failed the condition; implementations that do not are read again.
        const item =
          (error as { Item?: Record<string, AttributeValue> }).Item ??
          (await readItem(client, tableName, `webhook#${eventId}`));
        const taken = claimOf(item?.state?.S, Number(item?.at?.N ?? "0"), now);
        // The item changed between the write and the read: another invocation has it.
        return taken === "claimed" ? "inProgress" : taken;
      }
    },
    async settle(eventId, applied, now) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: eventItem(eventId, applied ? "done" : "failed", now),
        }),
      );
    },
    async dedupKeyOfIncident(incidentId) {
      return (await readItem(client, tableName, `incident#${incidentId}`))?.dedupKey?.S;
    },
    async rememberIncident(incidentId, dedupKey, now) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            id: { S: `incident#${incidentId}` },
            dedupKey: { S: dedupKey },
            expiresAt: { N: seconds(now + INCIDENT_MEMORY_MS) },
          },
        }),
      );
    },
  };
}

const GROUP_PREFIX = "group#";

/** A group as one item: its version as a number (the condition reads it), the rest as one JSON attribute. */
export function createDynamoGroupStore(client: DynamoDBClient, tableName: string): GroupStore {
  return {
    async get(dedupKey) {
      const item = await readItem(client, tableName, `${GROUP_PREFIX}${dedupKey}`);
      return item === undefined ? undefined : groupOfItem(item);
    },
    put: (next, expected, now) => putOverVersion(client, tableName, groupItem(next, now), expected),
  };
}

function groupItem(state: GroupState, now: number): Record<string, AttributeValue> {
  const { version, ...record } = state;
  const expiresAt = expiryOf(state, now);
  return {
    id: { S: `${GROUP_PREFIX}${state.dedupKey}` },
    version: { N: String(version) },
    record: { S: JSON.stringify(record) },
    ...(expiresAt === undefined ? {} : { expiresAt: { N: String(expiresAt) } }),
  };
}

function groupOfItem(item: Record<string, AttributeValue>): GroupState {
  const record = JSON.parse(item.record?.S ?? "{}") as Omit<GroupState, "version">;
  return { ...record, version: Number(item.version?.N ?? "0") };
}

/**
 * The stores a function keeps in the stack's state table, over one client made when a store first needs it; in
 * memory when the function has no table (local runs).
 */
export function stateTableStores(tableName: string | undefined) {
  let client: DynamoDBClient | undefined;
  const table = (): DynamoDBClient => (client ??= new DynamoDBClient(AWS_CLIENT_CONFIG));
  return {
    pacing: (): PacingStore =>
      tableName === undefined ? createMemoryPacingStore() : createDynamoPacingStore(table(), tableName),
    alerts: (): AlertStore =>
      tableName === undefined ? createMemoryAlertStore() : createDynamoAlertStore(table(), tableName),
    groups: (): GroupStore =>
      tableName === undefined ? createMemoryGroupStore() : createDynamoGroupStore(table(), tableName),
    ledger: (): WebhookLedger =>
      tableName === undefined ? createMemoryWebhookLedger() : createDynamoWebhookLedger(table(), tableName),
  };
}
