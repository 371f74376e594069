import type { Clock } from "../../handler/clock";

// Virtual time for the benchmark: the delivery code runs for real, but every wait it makes goes through this
// clock, so an hour of delivery takes seconds. Time advances only when every running task is waiting on a
// timer: the scheduler drains all pending promise callbacks before it moves to the next timer.

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

export interface VirtualTime {
  clock: Clock;
  now(): number;
  /** Runs `task` at virtual time `at`. */
  at(at: number, task: () => void): void;
  /** Runs `task` at `at` unless the returned function is called first (no AbortSignal: millions are made). */
  cancellable(at: number, task: () => void): () => void;
  /** Advances time until no timer is left or `done()` holds. */
  run(done?: () => boolean): Promise<void>;
  /**
   * Moves time forward by `ms` with nothing run meanwhile: the timers that fall due fire at the next `run`, as late
   * as that.
   */
  tick(ms: number): void;
}

export function createVirtualTime(start = 0): VirtualTime {
  let now = start;
  let seq = 0;
  const heap: Timer[] = [];

  const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  const push = (timer: Timer) => {
    heap.push(timer);
    for (let index = heap.length - 1; index > 0;) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index] as Timer, heap[parent] as Timer)) break;
      [heap[index], heap[parent]] = [heap[parent] as Timer, heap[index] as Timer];
      index = parent;
    }
  };
  const pop = (): Timer | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      for (let index = 0; ;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && before(heap[left] as Timer, heap[smallest] as Timer)) smallest = left;
        if (right < heap.length && before(heap[right] as Timer, heap[smallest] as Timer)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest] as Timer, heap[index] as Timer];
        index = smallest;
      }
    }
    return top;
  };
  const schedule = (at: number, fire: () => void): Timer => {
    const timer = { at: Math.max(at, now), seq: (seq += 1), fire, cancelled: false };
    push(timer);
    return timer;
  };

  const clock: Clock = {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted === true) {
          resolve();
          return;
        }
        const timer = schedule(now + Math.max(0, ms), resolve);
        signal?.addEventListener(
          "abort",
          () => {
            timer.cancelled = true;
            resolve();
          },
          { once: true },
        );
      }),
  };

  // setImmediate runs after every queued promise callback, so after it nothing can still run at this instant.
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  return {
    clock,
    now: () => now,
    at: (at, task) => {
      schedule(at, task);
    },
    tick(ms) {
      now += ms;
    },
    cancellable: (at, task) => {
      const timer = schedule(at, task);
      return () => {
        timer.cancelled = true;
      };
    },
    async run(done = () => false) {
      for (;;) {
        await settle();
        if (done()) return;
        let timer = pop();
        while (timer?.cancelled === true) timer = pop();
        if (timer === undefined) return;
        now = Math.max(now, timer.at);
        timer.fire();
        // Every timer of the same instant fires before the next settle: they are simultaneous, and one settle per
        // instant instead of per timer is what keeps millions of timers cheap.
        while (heap[0] !== undefined && heap[0].at <= now) {
          const next = pop() as Timer;
          if (!next.cancelled) next.fire();
        }
      }
    },
  };
}

/** A small seeded generator (mulberry32): the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
