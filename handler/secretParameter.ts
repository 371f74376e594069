import { isTransient } from "./awsErrors";
import type { Clock } from "./clock";
import { errorText, type Logger } from "./telemetry/log";

/** Reads a decrypted parameter value; throws the store's own error (with its name as the code) on failure. */
export type ParameterReader = (name: string) => Promise<string>;

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
  clock: Clock;
  log: Logger;
}

export interface SecretParameter {
  /** The value; reads of SSM that fail for a passing reason are retried until `deadline`. */
  get(deadline: number): Promise<string>;
}

/**
 * A secret kept in an SSM SecureString, read once per time-to-live so that a rotated value is picked up without a
 * deployment. When a refresh fails the previous value keeps being used (a throttled SSM must not stop the
 * function). With no previous value, throttling and server errors are retried with backoff until the invocation's
 * deadline, so that a cold container waits for SSM instead of failing at once; other errors name the parameter and
 * SSM's error code, and never the value.
 */
export function createSecretParameter(options: SecretParameterOptions): SecretParameter {
  const { what } = options;
  let cached: { value: string; readAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function refresh(deadline: number): Promise<string> {
    const name = options.parameterName;
    let value: string;
    for (let attempt = 1; ; attempt += 1) {
      try {
        value = (await options.read(name)).trim();
        break;
      } catch (error) {
        const detail = errorText(error);
        if (cached !== undefined) {
          options.log.warn(`${what} refresh failed; using the one read earlier`, {
            parameter: name,
            error: detail,
          });
          return cached.value;
        }
        const wait = Math.min(READ_RETRY_MAX_MS, READ_RETRY_BASE_MS * 2 ** (attempt - 1));
        if (!isTransient(error) || options.clock.now() + wait > deadline) {
          throw new Error(`cannot read the ${what} from SSM parameter "${name}": ${detail}`, {
            cause: error,
          });
        }
        options.log.warn(`${what} read failed; retrying`, { parameter: name, error: detail, attempt });
        await options.clock.sleep(wait);
      }
    }
    const problem = options.problemOf(value);
    if (problem !== undefined)
      throw new Error(`SSM parameter "${name}" does not hold ${options.expected}: ${problem}`);
    cached = { value, readAt: options.clock.now() };
    return value;
  }

  return {
    get(deadline) {
      if (cached !== undefined && options.clock.now() - cached.readAt < options.ttlMs) {
        return Promise.resolve(cached.value);
      }
      // Records processed concurrently share one read.
      inFlight ??= refresh(deadline).finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}

const READ_RETRY_BASE_MS = 1_000;
const READ_RETRY_MAX_MS = 15_000;
