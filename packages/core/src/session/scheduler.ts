/**
 * One timer for every session's statechart timers (xstate's `clock` option): the proactive
 * refreshes, back-offs and cool-downs of 10,000 sessions are entries in one binary heap, and Node
 * holds a single timer — for the earliest deadline, unref'd, so a pending refresh never keeps the
 * process alive. Cancelled entries are dropped lazily (when they reach the top, or in a compaction
 * once they are the majority): setting and clearing stay O(log n).
 */

interface Entry {
  readonly at: number;
  /** The id given out; also the insertion order, so entries due together run as they were set. */
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

/** Node's largest delay (a longer one fires at once); a later deadline re-arms on the way. */
const maxNodeDelay = 2_147_483_647;

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export interface Scheduler {
  readonly setTimeout: (fn: (...args: unknown[]) => void, delay: number) => number;
  readonly clearTimeout: (id: unknown) => void;
  /** Entries not yet run nor cancelled (what the bench and tests count). */
  readonly pending: () => number;
  /** 1 while anything is pending, else 0: the Node timers this scheduler holds. */
  readonly nodeTimers: () => number;
}

export const createScheduler = (now: () => number = Date.now): Scheduler => {
  const heap: Entry[] = [];
  const byId = new Map<number, Entry>();
  let nextId = 1;
  let cancelled = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let armedAt: number | undefined;

  const swap = (i: number, j: number) => {
    const t = heap[i] as Entry;
    heap[i] = heap[j] as Entry;
    heap[j] = t;
  };
  const up = (start: number) => {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry, heap[parent] as Entry)) return;
      swap(i, parent);
      i = parent;
    }
  };
  const down = (start: number) => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && before(heap[left] as Entry, heap[least] as Entry)) least = left;
      if (right < heap.length && before(heap[right] as Entry, heap[least] as Entry)) least = right;
      if (least === i) return;
      swap(i, least);
      i = least;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      down(0);
    }
    return top;
  };
  const dropCancelledTop = () => {
    while (heap.length > 0 && (heap[0] as Entry).cancelled) {
      pop();
      cancelled--;
    }
  };
  const compact = () => {
    const live = heap.filter((entry) => !entry.cancelled);
    heap.length = 0;
    for (const entry of live) heap.push(entry);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
    cancelled = 0;
  };

  /** Keeps one Node timer for the earliest live deadline, or none when nothing is pending. */
  const arm = () => {
    dropCancelledTop();
    const first = heap[0];
    if (first === undefined) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      armedAt = undefined;
      return;
    }
    if (timer !== undefined && armedAt === first.at) return;
    if (timer !== undefined) clearTimeout(timer);
    armedAt = first.at;
    timer = setTimeout(fire, Math.min(maxNodeDelay, Math.max(0, first.at - now())));
    timer.unref?.();
  };

  function fire() {
    timer = undefined;
    armedAt = undefined;
    const due = now();
    let failure: { readonly error: unknown } | undefined;
    for (;;) {
      dropCancelledTop();
      const first = heap[0];
      if (first === undefined || first.at > due) break;
      pop();
      byId.delete(first.seq);
      try {
        first.run();
      } catch (error) {
        // As a native timer's callback would: thrown to the host, after the others have run.
        failure ??= { error };
      }
    }
    arm();
    if (failure !== undefined) throw failure.error;
  }

  return {
    setTimeout: (fn, delay) => {
      const id = nextId++;
      const entry: Entry = {
        at: now() + Math.max(0, Number.isFinite(delay) ? delay : 0),
        seq: id,
        run: fn,
        cancelled: false,
      };
      byId.set(id, entry);
      heap.push(entry);
      up(heap.length - 1);
      arm();
      return id;
    },
    clearTimeout: (id) => {
      const entry = byId.get(id as number);
      if (entry === undefined) return;
      byId.delete(id as number);
      entry.cancelled = true;
      cancelled++;
      if (cancelled > 32 && cancelled * 2 > heap.length) compact();
      arm();
    },
    pending: () => byId.size,
    nodeTimers: () => (timer === undefined ? 0 : 1),
  };
};

/** The process's scheduler: every session's statechart runs its timers here. */
export const sharedScheduler: Scheduler = createScheduler();
