import type { Clock } from "../clock";
import { errorText, type Logger } from "../telemetry/log";
import type { Meter } from "../telemetry/metrics";
import {
  decide,
  type AlertDecision,
  type AlertEvent,
  type AlertState,
  type Change,
  type SkipKind,
} from "./alerts";
import type { AlertStore } from "./store";
import { DEFAULT_ROUTE } from "../finding/routes";

// The edge around the alert state decisions: read, decide, claim, and after PagerDuty accepted the event, confirm.
// Every write is conditional on the version read, so two invocations on the same finding (a trigger in the
// standard lane, its resolve in the resolve lane) cannot both win: the loser decides again on what the winner
// wrote. When the table cannot be used, the event is sent anyway: a missed page is worse than a repeated one.

export type Plan =
  | {
      kind: "skip";
      skip: SkipKind;
      why: string;
      state: AlertState | undefined;
      /** The page's write-back to Security Hub has not landed yet: write it again. */
      writeBackDue: boolean;
      /** The route whose service holds the alert. */
      route: string;
    }
  | {
      kind: "send";
      change: Change;
      why: string;
      /** The state read before the decision (undefined: none, or the table could not be read). */
      state: AlertState | undefined;
      /** True when the table could not be used and the event goes out without it. */
      stateUnavailable: boolean;
      /** Once PagerDuty accepts it, the page is written back to Security Hub. */
      writeBack: boolean;
      /** The route whose service the event goes to. */
      route: string;
      /** The alert leaves this route's service: a resolve goes there first. */
      movingFrom?: string;
      /**
       * Records that PagerDuty accepted the event. Answers "compensate" when a newer resolution was recorded while
       * this trigger was on its way, so that PagerDuty may have opened the alert after resolving it: the caller
       * then sends the resolve again.
       */
      confirm(): Promise<"done" | "compensate">;
    };

export interface AlertTracker {
  plan(event: AlertEvent): Promise<Plan>;
}

export interface AlertTrackerOptions {
  store: AlertStore;
  clock: Clock;
  log: Logger;
  refreshMs: number;
  /** Until when resolves are sent for findings without state (epoch ms); 0: never. */
  resolveUntrackedUntil: number;
  /** Pages are written back to Security Hub. */
  writeBack: boolean;
  meter: Meter;
}

/** Where a finding's alert is: the state's route, else the one the finding takes now. */
function routeOfState(state: AlertState | undefined, event: AlertEvent): string {
  return (state === undefined ? event.route : state.route) ?? DEFAULT_ROUTE;
}

// Each lost race costs one more read; more than a few means something else is writing the same item.
const MAX_ATTEMPTS = 4;

export function createAlertTracker(options: AlertTrackerOptions): AlertTracker {
  const { store, clock, log } = options;

  const failed = (what: string, event: AlertEvent, error: unknown) => {
    options.meter.count("StateTableFailures");
    log.warn(`alert state ${what} failed; sending anyway`, {
      dedupKey: event.dedupKey,
      error: errorText(error),
    });
  };
  const unavailable = (event: AlertEvent, state: AlertState | undefined): Plan => ({
    kind: "send",
    route: (event.action === "resolve" ? state?.route : undefined) ?? event.route ?? DEFAULT_ROUTE,
    change: event.action === "trigger" ? (state?.status === "open" ? "update" : "new") : "resolve",
    why: "alert state unavailable",
    state,
    stateUnavailable: true,
    // Without state a page cannot be told from an update: writing back every one would repeat the note.
    writeBack: false,
    confirm: () => Promise.resolve("done"),
  });

  async function confirm(event: AlertEvent, claimed: AlertState): Promise<"done" | "compensate"> {
    const now = clock.now();
    try {
      // The move, if this event finished one, is done: both services were told.
      const { movingFrom: _moved, ...confirmed } = claimed;
      if (await store.put({ ...confirmed, sentAt: now, version: claimed.version + 1 }, claimed.version, now))
        return "done";
      const current = await store.get(event.dedupKey);
      if (current === undefined) return "done";
      if (
        claimed.status === "open" &&
        current.status === "resolved" &&
        current.updatedAt >= claimed.updatedAt
      ) {
        log.info("a newer resolution was recorded while the trigger was sent; resolving again", {
          dedupKey: event.dedupKey,
        });
        return "compensate";
      }
      if (
        claimed.status === "resolved" &&
        current.status === "open" &&
        current.updatedAt > claimed.updatedAt
      ) {
        // A newer trigger went out while this resolve was on its way and may have been closed by it: the next
        // import of the finding sends it again.
        await store.put(
          { ...current, sentAt: undefined, version: current.version + 1 },
          current.version,
          now,
        );
      }
      return "done";
    } catch (error) {
      options.meter.count("StateTableFailures");
      // The claim stays unconfirmed: the next import of the finding sends again, which PagerDuty deduplicates.
      log.warn("alert state confirmation failed", { dedupKey: event.dedupKey, error: errorText(error) });
      return "done";
    }
  }

  return {
    async plan(event) {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
        const now = clock.now();
        let state: AlertState | undefined;
        try {
          state = await store.get(event.dedupKey);
        } catch (error) {
          failed("read", event, error);
          return unavailable(event, undefined);
        }
        const decision: AlertDecision = decide(state, event, {
          now,
          refreshMs: options.refreshMs,
          resolveUntracked: now < options.resolveUntrackedUntil,
          writeBack: options.writeBack,
        });
        // A skip that must be remembered, or a send claimed before it goes out (without sentAt: unconfirmed).
        const write = decision.kind === "skip" ? decision.record : { ...decision.next, sentAt: undefined };
        if (write !== undefined) {
          let written: boolean;
          try {
            written = await store.put(write, state?.version, now);
          } catch (error) {
            if (decision.kind === "skip") {
              options.meter.count("StateTableFailures");
              log.warn("alert state write failed", { dedupKey: event.dedupKey, error: errorText(error) });
              return {
                kind: "skip",
                skip: decision.skip,
                why: decision.why,
                state,
                writeBackDue: false,
                route: routeOfState(state, event),
              };
            }
            failed("write", event, error);
            return unavailable(event, state);
          }
          if (!written) continue;
        }
        if (decision.kind === "skip") {
          const writeBackDue = decision.writeBackDue === true;
          return {
            kind: "skip",
            skip: decision.skip,
            why: decision.why,
            state,
            writeBackDue,
            route: routeOfState(state, event),
          };
        }
        return {
          kind: "send",
          change: decision.change,
          why: decision.why,
          state,
          stateUnavailable: false,
          writeBack: decision.next.writeBack === "due" && event.action === "trigger",
          route: decision.next.route ?? DEFAULT_ROUTE,
          ...(decision.next.movingFrom === undefined ? {} : { movingFrom: decision.next.movingFrom }),
          confirm: () => confirm(event, write as AlertState),
        };
      }
      log.warn("alert state contended; sending anyway", { dedupKey: event.dedupKey, attempts: MAX_ATTEMPTS });
      options.meter.count("StateTableFailures");
      return unavailable(event, undefined);
    },
  };
}
