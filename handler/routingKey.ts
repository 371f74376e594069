import type { Clock } from "./clock";
import type { Logger } from "./log";
import { errorText } from "./pacing";
import { describeRoutingKeyProblem } from "./pagerdutyEvent";

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
  get(): Promise<string>;
}

/**
 * The routing key, read once per time-to-live so that a rotated key is picked up without a deployment. When a
 * refresh fails the previous key keeps being used (a throttled SSM must not stop paging); with no previous key
 * the error names the parameter and SSM's error code, and never the value.
 */
export function createRoutingKeySource(options: RoutingKeySourceOptions): RoutingKeySource {
  let cached: { key: string; readAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function refresh(): Promise<string> {
    const name = options.parameterName;
    let value: string;
    try {
      value = (await options.read(name)).trim();
    } catch (error) {
      const detail = errorText(error);
      if (cached !== undefined) {
        options.log.warn("routing key refresh failed; using the key read earlier", {
          parameter: name,
          error: detail,
        });
        return cached.key;
      }
      throw new Error(`cannot read the PagerDuty routing key from SSM parameter "${name}": ${detail}`, {
        cause: error,
      });
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
    get() {
      if (cached !== undefined && options.clock.now() - cached.readAt < options.ttlMs) {
        return Promise.resolve(cached.key);
      }
      // Records processed concurrently share one read.
      inFlight ??= refresh().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
