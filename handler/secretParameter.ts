import { isTransient } from "./awsErrors";
import type { Clock } from "./clock";
import { errorText, type Logger } from "./telemetry/log";

/** A parameter's decrypted value, with its version and when that version was written (epoch ms), when known. */
export interface ParameterValue {
  value: string;
  version?: number;
  modifiedAt?: number;
}

/**
 * Reads a decrypted parameter, or one version of it (`NAME:VERSION`); throws the store's own error (with its name
 * as the code) on failure.
 */
export type ParameterReader = (name: string) => Promise<ParameterValue>;

export interface SecretParameterOptions {
  parameterName: string;
  /** What the secret is, for log lines and errors: "routing key". */
  what: string;
  /** What the parameter must hold, for the error when it does not: "a PagerDuty Events API v2 routing key". */
  expected: string;
  /** Why a value is not such a secret, without ever saying the value; undefined when it is fine. */
  problemOf: (value: string) => string | undefined;
  read: ParameterReader;
  ttlMs: number;
  /** How long after the parameter's last write its previous version is still offered by `previous()`; absent: never. */
  graceMs?: number;
  clock: Clock;
  log: Logger;
}

export interface SecretParameter {
  /** The value; reads of SSM that fail for a passing reason are retried until `deadline`. */
  get(deadline: number): Promise<string>;
  /**
   * The value read again now, before its time-to-live (a webhook signed with a secret this container does not know
   * yet), unless it was read moments ago or reads are backing off: then the value known.
   */
  reread(deadline: number): Promise<string>;
  /**
   * The parameter's earlier versions replaced less than `graceMs` ago, newest first (deliveries signed before a
   * rotation, reaching a container that only ever read the new value). SSM is asked once per version (a version's
   * value never changes), and after a failure not again for a minute.
   */
  previous(): Promise<string[]>;
  /** How many times the value was read from SSM: a check that read nothing cannot see a rotation written since. */
  reads(): number;
}

/**
 * A secret kept in an SSM SecureString, read once per time-to-live so that a rotated value is picked up without a
 * deployment. When a refresh fails the previous value keeps being used (a throttled SSM must not stop the
 * function), and reads back off exponentially (1 s doubling to a minute): while they do, SSM is not called at all,
 * whatever the traffic. With no previous value, throttling and server errors are retried with backoff until the
 * invocation's deadline, so that a cold container waits for SSM instead of failing at once; other errors name the
 * parameter and SSM's error code, and never the value.
 */
export function createSecretParameter(options: SecretParameterOptions): SecretParameter {
  const { what, clock } = options;
  let cached: (ParameterValue & { readAt: number }) | undefined;
  const versions = new Map<number, { read?: ParameterValue; retryAt: number }>();
  let inFlight: Promise<string> | undefined;
  let previousInFlight: Promise<string[]> | undefined;
  let failure: { error: Error; failures: number; retryAt: number } | undefined;
  let reads = 0;

  async function refresh(deadline: number): Promise<string> {
    const name = options.parameterName;
    let read: ParameterValue;
    for (let attempt = 1; ; attempt += 1) {
      try {
        read = await options.read(name);
        break;
      } catch (error) {
        const detail = errorText(error);
        const failures = (failure?.failures ?? 0) + 1;
        const backoff = Math.min(BACKOFF_MAX_MS, READ_RETRY_BASE_MS * 2 ** (failures - 1));
        const wrapped = new Error(`cannot read the ${what} from SSM parameter "${name}": ${detail}`, {
          cause: error,
        });
        failure = { error: wrapped, failures, retryAt: clock.now() + backoff };
        if (cached !== undefined) {
          options.log.warn(`${what} refresh failed; using the one read earlier`, {
            parameter: name,
            error: detail,
          });
          return cached.value;
        }
        const wait = Math.min(READ_RETRY_MAX_MS, READ_RETRY_BASE_MS * 2 ** (attempt - 1));
        if (!isTransient(error) || clock.now() + wait > deadline) throw wrapped;
        options.log.warn(`${what} read failed; retrying`, { parameter: name, error: detail, attempt });
        await clock.sleep(wait);
      }
    }
    failure = undefined;
    const value = checked(read.value);
    cached = { ...read, value, readAt: clock.now() };
    reads += 1;
    return value;
  }

  function checked(raw: string): string {
    const value = raw.trim();
    const problem = options.problemOf(value);
    if (problem !== undefined)
      throw new Error(
        `SSM parameter "${options.parameterName}" does not hold ${options.expected}: ${problem}`,
      );
    return value;
  }

  /** One earlier version, read once (a version's value never changes); after a failure not again for a minute. */
  async function version(wanted: number): Promise<ParameterValue | undefined> {
    const known = versions.get(wanted);
    if (known !== undefined && (known.read !== undefined || clock.now() < known.retryAt)) return known.read;
    try {
      const read = await options.read(`${options.parameterName}:${wanted}`);
      versions.set(wanted, { read: { ...read, value: checked(read.value) }, retryAt: 0 });
    } catch (error) {
      versions.set(wanted, { retryAt: clock.now() + BACKOFF_MAX_MS });
      options.log.warn(`previous ${what} unavailable`, {
        parameter: options.parameterName,
        error: errorText(error),
      });
    }
    return versions.get(wanted)?.read;
  }

  /** The versions replaced less than `graceMs` ago, newest first: each was replaced when its successor was written. */
  async function previous(): Promise<string[]> {
    const values: string[] = [];
    let successor: ParameterValue | undefined = cached;
    while (
      options.graceMs !== undefined &&
      successor?.version !== undefined &&
      successor.version > 1 &&
      successor.modifiedAt !== undefined &&
      clock.now() - successor.modifiedAt <= options.graceMs &&
      values.length < MAX_PREVIOUS_VERSIONS
    ) {
      successor = await version(successor.version - 1);
      if (successor !== undefined) values.push(successor.value);
    }
    return values;
  }

  function read(deadline: number, fresh: (readAt: number) => boolean): Promise<string> {
    if (cached !== undefined && fresh(cached.readAt)) return Promise.resolve(cached.value);
    if (failure !== undefined && clock.now() < failure.retryAt)
      return cached === undefined ? Promise.reject(failure.error) : Promise.resolve(cached.value);
    // Records processed concurrently share one read.
    inFlight ??= refresh(deadline).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  return {
    get: (deadline) => read(deadline, (readAt) => clock.now() - readAt < options.ttlMs),
    reread: (deadline) => read(deadline, (readAt) => clock.now() - readAt < REREAD_AFTER_MS),
    previous: () => {
      previousInFlight ??= previous().finally(() => {
        previousInFlight = undefined;
      });
      return previousInFlight;
    },
    reads: () => reads,
  };
}

const READ_RETRY_BASE_MS = 1_000;
const READ_RETRY_MAX_MS = 15_000;
/** How long reads back off at most after failures: SSM is asked at most once a minute while it keeps failing. */
const BACKOFF_MAX_MS = 60_000;
/** Rotations within one grace period that still count: deliveries signed with older secrets are refused. */
export const MAX_PREVIOUS_VERSIONS = 3;
/** A value read this recently is not read again before its time-to-live: forged signatures cost SSM a read a second. */
const REREAD_AFTER_MS = 1_000;
