import { isTransient } from "../awsErrors";
import type { Clock } from "../clock";
import { errorText, type Logger } from "../telemetry/log";
import { describeRoutingKeyProblem } from "../finding/pagerdutyEvent";

/** Reads a decrypted parameter value; throws the store's own error (with its name as the code) on failure. */
export type ParameterReader = (name: string) => Promise<string>;

export interface RoutingKeySourceOptions {
  parameterName: string;
  read: ParameterReader;
  ttlMs: number;
  clock: Clock;
  log: Logger;
}

export interface RoutingKeySource {
  /** The key; reads of SSM that fail for a passing reason are retried until `deadline`. */
  get(deadline: number): Promise<string>;
}

/**
 * The routing key, read once per time-to-live so that a rotated key is picked up without a deployment. When a
 * refresh fails the previous key keeps being used (a throttled SSM must not stop paging). With no previous key,
 * throttling and server errors are retried with backoff until the invocation's deadline, so that a cold
 * container waits for SSM instead of handing its records back at once; other errors name the parameter and
 * SSM's error code, and never the value.
 */
export function createRoutingKeySource(options: RoutingKeySourceOptions): RoutingKeySource {
  let cached: { key: string; readAt: number } | undefined;
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
          options.log.warn("routing key refresh failed; using the key read earlier", {
            parameter: name,
            error: detail,
          });
          return cached.key;
        }
        const wait = Math.min(READ_RETRY_MAX_MS, READ_RETRY_BASE_MS * 2 ** (attempt - 1));
        if (!isTransient(error) || options.clock.now() + wait > deadline) {
          throw new Error(`cannot read the PagerDuty routing key from SSM parameter "${name}": ${detail}`, {
            cause: error,
          });
        }
        options.log.warn("routing key read failed; retrying", { parameter: name, error: detail, attempt });
        await options.clock.sleep(wait);
      }
    }
    const problem = describeRoutingKeyProblem(value);
    if (problem !== undefined) {
      throw new Error(
        `SSM parameter "${name}" does not hold a PagerDuty Events API v2 routing key: ${problem}`,
      );
    }
    cached = { key: value, readAt: options.clock.now() };
    return value;
  }

  return {
    get(deadline) {
      if (cached !== undefined && options.clock.now() - cached.readAt < options.ttlMs) {
        return Promise.resolve(cached.key);
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
