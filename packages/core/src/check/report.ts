/**
 * A probe's report: what the server advertises, the pitfalls it triggers, and every request the
 * probe made — one value with a stable, documented shape (`authchart probe --json`). Pure; every
 * URL in it is shown through `shownUrl`.
 */
import { type Advertised, collectAdvertised } from "./advertised.js";
import { judgePitfalls, type Pitfall } from "./pitfalls.js";
import { type Hop, type ProbeRecord, shownUrl } from "./record.js";

/** One request of the probe, in the order it was made. */
export interface Exchange {
  readonly purpose: "challenge" | "resource-metadata" | "authorization-server-metadata";
  readonly method: Hop["method"];
  readonly url: string;
  readonly status?: number | undefined;
  readonly location?: string | undefined;
  readonly failure?: string | undefined;
}

export interface ProbeReport {
  /** The shape's version: a change that breaks a reader gets a new one. */
  readonly schema: "authchart.probe/1";
  readonly server: string;
  /** "clean": no pitfall; "pitfalls": at least one. */
  readonly verdict: "clean" | "pitfalls";
  readonly advertised: Advertised;
  readonly pitfalls: readonly Pitfall[];
  readonly exchanges: readonly Exchange[];
}

const exchangeOf = (purpose: Exchange["purpose"], hop: Hop): Exchange => ({
  purpose,
  method: hop.method,
  url: shownUrl(hop.url),
  status: hop.status,
  location: hop.location === undefined ? undefined : shownUrl(hop.location),
  failure: hop.failure?.message,
});

export const exchangesOf = (record: ProbeRecord): Exchange[] => [
  exchangeOf("challenge", record.challenge.hop),
  ...record.resourceMetadata.flatMap((l) => l.hops.map((h) => exchangeOf("resource-metadata", h))),
  ...record.authorizationServers.flatMap((s) =>
    s.lookups.flatMap((l) => l.hops.map((h) => exchangeOf("authorization-server-metadata", h))),
  ),
];

/** The report of a probe: collects, judges, lists the requests. */
export const reportProbe = (record: ProbeRecord): ProbeReport => {
  const pitfalls = judgePitfalls(record);
  return {
    schema: "authchart.probe/1",
    server: shownUrl(record.serverUrl),
    verdict: pitfalls.length === 0 ? "clean" : "pitfalls",
    advertised: collectAdvertised(record),
    pitfalls,
    exchanges: exchangesOf(record),
  };
};
