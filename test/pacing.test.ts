import { strict as assert } from "node:assert";
import {
  URGENT_RUN,
  createMemoryPacingStore,
  createPacer,
  type SlotPriority,
} from "../handler/delivery/pacing";
import { priorityOf } from "../handler/delivery/delivery";
import { silentLogger } from "../handler/telemetry/log";
import { createVirtualTime } from "../tools/simulation/virtualTime";

// One key's shared schedule, as the invocations of every lane draw from it, on virtual time.
describe("the send schedule", () => {
  const INTERVAL = 1000;

  /** The key's schedule in one store, and a pacer on it for each invocation. */
  function schedule() {
    const time = createVirtualTime(0);
    const store = createMemoryPacingStore();
    const pacer = () =>
      createPacer({
        store,
        id: "key",
        eventsPerMinute: 60_000 / INTERVAL,
        clock: time.clock,
        log: silentLogger,
      });
    return { time, pacer };
  }

  async function run(urgentPriority: SlotPriority) {
    const { time, pacer } = schedule();
    const sent: { at: number; who: string }[] = [];
    // Ten invocations each send twenty events back to back, as a rescan's updates and resolves keep them busy.
    const senders = Array.from({ length: 10 }, async (_, index) => {
      const own = pacer();
      for (let event = 0; event < 20; event += 1) {
        const at = await own.acquire(time.now() + 60_000, "normal");
        if (at === undefined) continue;
        await time.clock.sleep(at - time.now());
        sent.push({ at, who: `normal-${index}` });
      }
    });
    let asked = 0;
    let given: number | undefined;
    time.at(30_500, () => {
      asked = time.now();
      void pacer()
        .acquire(time.now() + 60_000, urgentPriority)
        .then((at) => {
          given = at;
          if (at !== undefined) sent.push({ at, who: "urgent" });
        });
    });
    await time.run();
    await Promise.all(senders);
    return { sent: sent.sort((a, b) => a.at - b.at), waited: (given ?? Infinity) - asked };
  }

  it("gives a CRITICAL page the next slot but one, however many invocations are sending other events", async () => {
    const { sent, waited } = await run("urgent");
    assert.ok(waited <= 2 * INTERVAL, `the urgent event waited ${waited} ms`);
    // Every slot is still used once: the other events lose no throughput to the rule.
    const gaps = sent.slice(1).map((entry, index) => entry.at - (sent[index]?.at ?? 0));
    assert.equal(sent.length, 201);
    assert.deepEqual([...new Set(gaps)], [INTERVAL]);
  });

  it("leaves other events a share of the slots while CRITICAL pages queue: none waits out its invocation", async () => {
    const { time, pacer } = schedule();
    const sent: { at: number; urgent: boolean }[] = [];
    const waits: number[] = [];
    let refused = 0;
    // Two critical-lane invocations with a backlog of CRITICAL pages, each sending its next as soon as PagerDuty
    // answered the last: alone they would take every slot for as long as the backlog lasts.
    const critical = [0, 1].map(async () => {
      const own = pacer();
      while (time.now() < 120_000) {
        const at = await own.acquire(time.now() + 40_000, "urgent");
        if (at === undefined) continue;
        await time.clock.sleep(at - time.now() + 100);
        sent.push({ at, urgent: true });
      }
    });
    // The standard and resolve lanes' invocations, each with a 40-second send window, sending one event at a time.
    const others = [0, 1, 2].map(async () => {
      const own = pacer();
      for (let event = 0; event < 5; event += 1) {
        const asked = time.now();
        const at = await own.acquire(asked + 40_000, "normal");
        if (at === undefined) {
          refused += 1;
          continue;
        }
        waits.push(at - asked);
        await time.clock.sleep(at - time.now() + 100);
        sent.push({ at, urgent: false });
      }
    });
    await time.run();
    await Promise.all([...critical, ...others]);
    assert.equal(refused, 0, "no event is handed back for want of a slot");
    // Each waits its turn among the three, one slot of every URGENT_RUN + 1, and a slot or two for the queue's end.
    const longest = Math.max(...waits);
    assert.ok(longest <= ((URGENT_RUN + 1) * 3 + 2) * INTERVAL, `an event waited ${longest} ms`);
    const ordered = sent.sort((a, b) => a.at - b.at);
    const gaps = ordered.slice(1).map((entry, index) => entry.at - (ordered[index]?.at ?? 0));
    assert.deepEqual([...new Set(gaps)], [INTERVAL], "each slot is used once");
    // While both kinds wait, CRITICAL pages still have three slots of every four.
    const contended = ordered.filter(
      (entry) => entry.at <= Math.max(...ordered.filter((e) => !e.urgent).map((e) => e.at)),
    );
    const urgentShare = contended.filter((entry) => entry.urgent).length / contended.length;
    assert.ok(urgentShare >= 0.7, `CRITICAL pages had ${urgentShare} of the slots`);
  });

  it("takes a CRITICAL finding's trigger first at any urgency, and its resolve and other severities' events after", () => {
    assert.equal(priorityOf({ event_action: "trigger" }, "CRITICAL"), "urgent");
    assert.equal(priorityOf({ event_action: "resolve" }, "CRITICAL"), "normal");
    assert.equal(priorityOf({ event_action: "trigger" }, "HIGH"), "normal");
  });
});
