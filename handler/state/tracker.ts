import type { Clock } from "../clock";
import { errorText, type Logger } from "../telemetry/log";
import type { Meter } from "../telemetry/metrics";
import {
  decide,
  type AlertDecision,
  type AlertEvent,
  type AlertState,
  type Change,
  type Notice,
  type SkipKind,
} from "./alerts";
import type { AlertStore } from "./store";
import { DEFAULT_ROUTE } from "../finding/routes";

// The edge around the alert state decisions: read, decide, claim, and after PagerDuty accepted the event, confirm.
// Every write is conditional on the version read, so two invocations on the same finding (a trigger in the
// standard lane, its resolve in the resolve lane) cannot both win: the loser decides again on what the winner
// wrote. The claim also holds the finding for its sender until it is confirmed or released, so that PagerDuty gets a
// finding's events one at a time, in the order they were decided: the next one waits (its record is handed back for
// seconds). When the table cannot be used, the event is sent anyway: a missed page is worse than a repeated one.

export type Plan =
  | {
      kind: "skip";
      skip: SkipKind;
      why: string;
      state: AlertState | undefined;
      /** The page's write-back to Security Hub has not landed yet: write it again. */
      writeBackDue: boolean;
      /** What Security Hub is told besides (see Notice). */
      notice?: Notice;
      /** The page's write-back is left undone: a person triaged the finding first (see AlertDecision). */
      leftToPerson?: true;
      /** The route whose service holds the alert. */
      route: string;
    }
  /** Another invocation is sending an event of this finding; try again at `until` (epoch ms) at the latest. */
  | { kind: "wait"; why: string; until: number }
  | {
      kind: "send";
      change: Change;
      why: string;
      /** What PagerDuty is sent: the recorded status, which may be a resolve owed for a trigger that came late. */
      action: "trigger" | "resolve";
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
      /** The alert the finding's alert leaves first (its own dedup key, or a group's): see AlertState.leaving. */
      leaving?: string;
      /** The finding's alert is a member of this group (alertPer: control): the group's record decides what is sent. */
      group?: string;
      /**
       * Records that PagerDuty accepted `sent`, and frees the finding for its next event. Answers false, leaving the
       * claim held, when a responder resolved the alert while this trigger was in flight: the trigger may have opened
       * a new incident, so the caller sends the resolve and confirms that.
       */
      confirm(sent: "trigger" | "resolve"): Promise<boolean>;
      /**
       * PagerDuty did not take the event (the record is handed back): frees the finding for its next event, at once
       * when no request left (`attempted` false), else once a request abandoned on its timeout can have landed.
       */
      release(attempted: boolean): Promise<void>;
    };

export interface AlertTracker {
  /** `deadline`: until when (epoch ms) the caller may send; a claim holds a little longer. */
  plan(event: AlertEvent, deadline: number): Promise<Plan>;
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
/** How soon a record whose state other invocations kept changing is decided again. */
const CONTENDED_RETRY_MS = 1_000;
/** A request abandoned on its timeout may still reach PagerDuty a moment later: a claim outlives its sender by this. */
export const CLAIM_MARGIN_MS = 5_000;

type Claimed = AlertState & { claim: NonNullable<AlertState["claim"]> };

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
    action: event.action,
    state,
    stateUnavailable: true,
    // Without state a page cannot be told from an update: writing back every one would repeat the note.
    writeBack: false,
    confirm: () => Promise.resolve(true),
    release: () => Promise.resolve(),
  });

  /**
   * Rewrites the record while it still carries this claim; a webhook's write in between (an incident recorded) is
   * kept. Once another invocation holds a newer claim this one expired, and its sender has nothing left to say.
   */
  async function settle(
    what: string,
    claimed: Claimed,
    change: (current: Claimed) => AlertState,
  ): Promise<void> {
    try {
      let current: AlertState | undefined = claimed;
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
        if (current?.claim?.version !== claimed.claim.version) return;
        const next = { ...change(current as Claimed), version: current.version + 1 };
        if (await store.put(next, current.version, clock.now())) return;
        current = await store.get(claimed.dedupKey);
      }
      throw new Error(`still contended after ${MAX_ATTEMPTS} attempts`);
    } catch (error) {
      options.meter.count("StateTableFailures");
      // The claim stays unconfirmed: the next event of the finding sends again, which PagerDuty deduplicates.
      log.warn(`alert state ${what} failed`, { dedupKey: claimed.dedupKey, error: errorText(error) });
    }
  }
  const withoutClaim = ({ claim: _claim, ...state }: Claimed): AlertState => state;
  /**
   * No request left: PagerDuty holds what it held before the claim, and the record says so again, so that the
   * finding's next event is judged against what PagerDuty holds: a resolve of a trigger that never went out sends
   * nothing. A record a webhook wrote after the claim (a responder's resolution) is what holds now, and is kept.
   */
  const unclaimed = (before: AlertState | undefined, claimed: Claimed, current: Claimed): AlertState => {
    if (current.version !== claimed.version) return withoutClaim(current);
    if (before === undefined)
      return {
        dedupKey: current.dedupKey,
        status: "resolved",
        updatedAt: 0,
        fingerprints: {},
        paged: false,
        version: current.version,
        sentAt: clock.now(),
        closedBy: "finding",
        ...(current.finding === undefined ? {} : { finding: current.finding }),
        ...(current.route === undefined ? {} : { route: current.route }),
      };
    const { claim: _claim, ...restored } = before;
    return restored;
  };

  return {
    async plan(event, deadline) {
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
        if (decision.kind === "wait") return decision;
        // A skip that must be remembered, or a send claimed before it goes out (without sentAt: unconfirmed).
        let write: AlertState | undefined = decision.kind === "skip" ? decision.record : undefined;
        if (decision.kind === "send") {
          const { sentAt: _sentAt, ...next } = decision.next;
          write = { ...next, claim: { version: next.version, until: deadline + CLAIM_MARGIN_MS } };
        }
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
            ...(decision.notice === undefined ? {} : { notice: decision.notice }),
            ...(decision.leftToPerson === undefined ? {} : { leftToPerson: decision.leftToPerson }),
            route: routeOfState(state, event),
          };
        }
        const claimed = write as Claimed;
        return {
          kind: "send",
          change: decision.change,
          why: decision.why,
          action: claimed.status === "open" ? "trigger" : "resolve",
          state,
          stateUnavailable: false,
          writeBack: claimed.writeBack === "due" && claimed.status === "open",
          route: claimed.route ?? DEFAULT_ROUTE,
          ...(claimed.movingFrom === undefined ? {} : { movingFrom: claimed.movingFrom }),
          ...(claimed.group === undefined ? {} : { group: claimed.group }),
          ...(claimed.leaving === undefined ? {} : { leaving: claimed.leaving }),
          confirm: async (sent) => {
            let undone = false;
            await settle("confirmation", claimed, (current) => {
              if (sent === "trigger" && current.status === "resolved" && current.closedBy === "responder") {
                undone = true;
                return current;
              }
              // What was decided while this resolve was in flight opened the alert again (a pass seen late ended a
              // responder's hold): PagerDuty holds it resolved, so the trigger stays owed, sent at the finding's
              // next event.
              if (sent === "resolve" && current.status === "open") return withoutClaim(current);
              // The move, if this event finished one, is done: both services were told.
              const { movingFrom: _moved, leaving: _left, ...confirmed } = withoutClaim(current);
              return { ...confirmed, sentAt: clock.now() };
            });
            return !undone;
          },
          release: (attempted) =>
            settle("release", claimed, (current) =>
              attempted
                ? {
                    ...current,
                    claim: {
                      ...current.claim,
                      until: Math.min(current.claim.until, clock.now() + CLAIM_MARGIN_MS),
                    },
                  }
                : unclaimed(state, claimed, current),
            ),
        };
      }
      // Other invocations keep changing the record (records of one finding in one batch, a webhook): deciding again
      // shortly, on what they wrote, rather than sending blind, which could repeat a change they made or undo it.
      log.warn("alert state contended; deciding again shortly", {
        dedupKey: event.dedupKey,
        attempts: MAX_ATTEMPTS,
      });
      options.meter.count("StateTableFailures");
      return {
        kind: "wait",
        why: "other invocations kept changing this finding's alert state",
        until: clock.now() + CONTENDED_RETRY_MS,
      };
    },
  };
}
