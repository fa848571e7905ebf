/** What the bench's measures share: the clients compared, the order of a round, a median. */
export const kinds = ["authchart", "sdk1", "sdk2"] as const;
export type Kind = (typeof kinds)[number];

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
/** The clients in round r's order: each goes first in turn (the machine drifts within a round). */
export const rotate = <T>(xs: readonly T[], r: number) =>
  xs.map((_, i) => xs[(i + r) % xs.length] as T);
