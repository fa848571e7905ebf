/**
 * `npm run bench:replicas [-- --replicas 8 --sessions 1 --concurrency 50 --seconds 30
 * --ttl 10 --skew 6 --lease 2 --kill --restart]`: the many-replicas run of run-replicas.ts with
 * the options given, printed as a table. Not part of `npm test` (the test runs it with fixed
 * settings and asserts on it). Redis is Debian's redis-server, installed if missing as in the
 * tests.
 */
import { ensureRedisServer, startRedisServer } from "../test/support/redis-server.js";
import { type ReplicasReport, runReplicas } from "./run-replicas.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} takes a number, not ${JSON.stringify(args[index + 1])}`);
    process.exit(2);
  }
  return value;
};
const flag = (name: string) => args.includes(`--${name}`);

const availability = await ensureRedisServer();
if (!availability.available) {
  console.error(`bench:replicas needs Debian's redis-server: ${availability.reason}`);
  process.exit(1);
}
const server = await startRedisServer(availability.executablePath);
let report: ReplicasReport;
try {
  report = await runReplicas(server, {
    replicas: option("replicas", 8),
    sessions: option("sessions", 1),
    concurrency: option("concurrency", 50),
    durationMillis: option("seconds", 30) * 1000,
    accessTokenTtlSeconds: option("ttl", 10),
    refreshSkewMillis: option("skew", 6) * 1000,
    leaseMillis: option("lease", 2) * 1000,
    pauseMillis: option("pause", 0),
    killHolderAt: flag("kill") ? 0.3 : undefined,
    restartRedisAt: flag("restart") ? 0.65 : undefined,
    log: (line) => console.error(`[replicas] ${line}`),
  });
} finally {
  await server.stop();
}

const o = report.options;
const rows: Array<[string, string]> = [
  ["replicas × sessions × callers", `${o.replicas} × ${o.sessions} × ${o.concurrency}`],
  ["duration", `${o.durationMillis / 1000} s`],
  [
    "access token lifetime / refresh ahead (≤ half) / lease",
    `${o.accessTokenTtlSeconds} s / ${Math.min(o.refreshSkewMillis, o.accessTokenTtlSeconds * 500) / 1000} s / ${o.leaseMillis / 1000} s`,
  ],
  [
    "holder killed mid-refresh / Redis restarted",
    `${report.killedHolder ? "yes" : "no"} / ${report.restartedRedis ? "yes" : "no"}`,
  ],
  ["calls", String(report.calls)],
  [
    "failed calls",
    `${report.failedCalls}${report.failedCalls > 0 ? ` ${JSON.stringify(report.failures)}` : ""}`,
  ],
  [
    "refresh requests (refused: invalid_grant)",
    `${report.refreshRequests} (${report.refusedRefreshes})`,
  ],
  [
    "refreshes per rotation",
    report.refreshRequests === 0
      ? "-"
      : (
          (report.reusedRefreshTokens + report.refreshRequests - report.refusedRefreshes) /
          Math.max(1, report.refreshRequests - report.refusedRefreshes)
        ).toFixed(2),
  ],
  ["refresh tokens presented twice", String(report.reusedRefreshTokens)],
  [
    "closest two refreshes (no closer than)",
    `${report.closestRefreshesMillis === undefined ? "-" : `${report.closestRefreshesMillis} ms`} (${report.refreshesApartAtLeastMillis} ms)`,
  ],
  ["logins after the first", String(report.extraAuthorizations)],
  ["calls that took up another replica's refresh", String(report.adoptedCalls)],
  [
    "their added latency p50 / p99",
    `${report.addedP50Millis.toFixed(1)} ms / ${report.addedP99Millis.toFixed(1)} ms`,
  ],
  ["Redis round trips per call", report.redisRoundTripsPerCall.toFixed(3)],
];
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`\n| ${"measure".padEnd(width)} | value |\n| ${"-".repeat(width)} | ----- |`);
for (const [name, value] of rows) console.log(`| ${name.padEnd(width)} | ${value} |`);
console.log(
  "\nAdded latency: a call's duration minus its replica's median call, for calls during which the session took up a token another replica had refreshed (read from Redis). Round trips: Redis's total_commands_processed over the run divided by the calls.",
);
process.exit(0);
