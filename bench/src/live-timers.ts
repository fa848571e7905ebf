/**
 * Counts the timers a process holds — set and neither fired nor cleared — whether they keep the
 * event loop alive or not (process.getActiveResourcesInfo() leaves out unref'd ones). Imported
 * first by heap.ts, so every module's timers go through it.
 */
type Id = ReturnType<typeof setTimeout>;
const live = new Set<Id>();
const {
  setTimeout: set,
  clearTimeout: clear,
  setInterval: every,
  clearInterval: stop,
} = globalThis;

globalThis.setTimeout = ((fn: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
  const id: Id = set(
    (...a: unknown[]) => {
      live.delete(id);
      fn(...a);
    },
    delay,
    ...args,
  );
  live.add(id);
  return id;
}) as typeof setTimeout;
globalThis.clearTimeout = ((id?: Id) => {
  if (id !== undefined) live.delete(id);
  clear(id);
}) as typeof clearTimeout;
globalThis.setInterval = ((
  fn: (...args: unknown[]) => void,
  delay?: number,
  ...args: unknown[]
) => {
  const id = every(fn, delay, ...args);
  live.add(id);
  return id;
}) as typeof setInterval;
globalThis.clearInterval = ((id?: Id) => {
  if (id !== undefined) live.delete(id);
  stop(id);
}) as typeof clearInterval;

export const liveTimers = () => live.size;
