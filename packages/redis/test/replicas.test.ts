/**
 * The run: 8 replicas (real processes), each with 50 concurrent callers on one grant,
 * rotating refresh tokens and short-lived access tokens; in the middle the replica holding the
 * lock in the middle of a refresh is SIGKILLed (and replaced), and Redis is SIGKILLed and
 * restarted from its AOF when no refresh is under way. Exactly one refresh per rotation across
 * all processes (no refresh token presented twice, no second refresh within a rotation), no
 * invalid_grant, no failed call, no login. The disruptions wait for the run to reach them
 * (bench/run-replicas.ts), so a slow machine makes the run longer, not different. The duration
 * is AUTHCHART_REPLICAS_SECONDS (default 20; the 30 with `AUTHCHART_REPLICAS_SECONDS=30`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runReplicas } from "../bench/run-replicas.js";
import { removeChildBundles } from "./support/children.js";
import {
  ensureRedisServer,
  REDIS_SETUP_TIMEOUT_MILLIS,
  type RedisServer,
  startRedisServer,
} from "./support/redis-server.js";

const seconds = Number(process.env.AUTHCHART_REPLICAS_SECONDS ?? "20");

let server: RedisServer | undefined;
let skipReason = "redis-server is not available";
beforeAll(async () => {
  const availability = await ensureRedisServer();
  if (!availability.available) {
    skipReason = availability.reason;
    return;
  }
  server = await startRedisServer(availability.executablePath);
}, REDIS_SETUP_TIMEOUT_MILLIS);
afterAll(async () => {
  await server?.stop();
  await removeChildBundles();
});

describe("many replicas, one grant", () => {
  it(
    `8 processes × 50 concurrent calls for ${seconds} s, holder killed mid-refresh, Redis restarted: one refresh per rotation, no invalid_grant, no failed call`,
    async (context) => {
      if (server === undefined) return context.skip(skipReason);
      const report = await runReplicas(server, {
        replicas: 8,
        sessions: 1,
        concurrency: 50,
        durationMillis: seconds * 1000,
        accessTokenTtlSeconds: 10,
        refreshSkewMillis: 6_000,
        leaseMillis: 5_000,
        pauseMillis: 10,
        killHolderAt: 0.3,
        restartRedisAt: 0.65,
        log: (line) => console.info(`[replicas] ${line}`),
      });
      // What was measured, for the report.
      console.info(JSON.stringify({ ...report, options: undefined }));
      expect(report.killedHolder).toBe(true);
      expect(report.restartedRedis).toBe(true);
      expect(report.calls).toBeGreaterThan(0);
      expect(report.failures).toEqual({});
      expect(report.failedCalls).toBe(0);
      // No invalid_grant: the authorization server refused no refresh.
      expect(report.refusedRefreshes).toBe(0);
      // One refresh per rotation: no refresh token presented twice, by any replica…
      expect(report.reusedRefreshTokens).toBe(0);
      expect(report.replicaRefreshes).toBe(report.refreshRequests);
      // …and not one refresh per replica: no second refresh of a rotation, even with the new
      // refresh token — refreshes are never closer than core's earliest refresh of a token.
      // (Rotations did happen: the run waits for the takeover after the kill and for a
      // refresh after the restart.)
      expect(report.refreshRequests).toBeGreaterThanOrEqual(2);
      expect(report.closestRefreshesMillis).toBeGreaterThanOrEqual(
        report.refreshesApartAtLeastMillis,
      );
      expect(report.extraAuthorizations).toBe(0);
      expect(report.replicaLogins).toBe(0);
    },
    seconds * 1000 + 240_000,
  );
});
