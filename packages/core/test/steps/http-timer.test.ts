/**
 * OAuthHttp.layerFetch's one timer per request: a timeout beyond what a timer holds is none (Node
 * would fire it after 1 ms), no timer is left behind on any path, errors keep their types.
 */
import { describe, expect, it } from "@effect/vitest";
import { Deferred, Effect, Exit, Fiber } from "effect";
import { OAuthHttp } from "../../src/services/http.js";

const sendOver = (fetch: typeof globalThis.fetch, timeoutMillis: number) =>
  Effect.flatMap(OAuthHttp, (http) =>
    http.send({ method: "GET", url: "http://127.0.0.1:9/x" }),
  ).pipe(
    Effect.provide(OAuthHttp.layerFetch({ allowInsecureLoopback: true, timeoutMillis }, fetch)),
  );

const slowOk: typeof globalThis.fetch = () =>
  new Promise((resolve) => setTimeout(() => resolve(new Response("{}", { status: 200 })), 50));

const activeTimeouts = () =>
  (process as unknown as { getActiveResourcesInfo: () => string[] })
    .getActiveResourcesInfo()
    .filter((r) => r === "Timeout").length;

describe("OAuthHttp.layerFetch: its timer", () => {
  // Effect's clock treated a duration above 2^31-1 ms as infinite; a plain setTimeout fires it
  // after 1 ms (TimeoutOverflowWarning) — every request would time out at once.
  it.live.each([Number.POSITIVE_INFINITY, 2 ** 31, 30 * 24 * 3_600_000])(
    "timeoutMillis %s (no practical timeout) lets a 50 ms answer through",
    (timeoutMillis) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(sendOver(slowOk, timeoutMillis));
        expect(Exit.isSuccess(exit) ? "ok" : JSON.stringify(exit.cause)).toBe("ok");
      }),
  );

  it.live("no timer is left armed after a success, a failure or an interruption", () =>
    Effect.gen(function* () {
      const before = activeTimeouts();
      yield* sendOver(async () => new Response("{}", { status: 200 }), 60_000);
      yield* Effect.exit(
        sendOver(async () => {
          throw new TypeError("fetch failed");
        }, 60_000),
      );
      const started = yield* Deferred.make<void>();
      let signal: AbortSignal | undefined;
      const fiber = yield* Effect.fork(
        sendOver((_i, init) => {
          signal = init?.signal ?? undefined;
          Effect.runSync(Deferred.succeed(started, undefined));
          return new Promise<Response>(() => undefined);
        }, 60_000),
      );
      yield* Deferred.await(started);
      yield* Fiber.interrupt(fiber);
      expect(signal?.aborted).toBe(true);
      expect(activeTimeouts()).toBe(before);
    }),
  );

  it.live("errors are mapped as before, without the URL's query in the reason", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        sendOver(async () => {
          throw new TypeError("fetch failed");
        }, 60_000),
      );
      expect(Exit.isFailure(exit)).toBe(true);
      if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("TransportError");
      const redirect = yield* Effect.exit(
        sendOver(
          async () =>
            new Response(null, {
              status: 302,
              headers: { location: "https://x.example/cb?code=SECRET" },
            }),
          60_000,
        ),
      );
      expect(JSON.stringify(redirect)).toContain("UnexpectedRedirect");
      expect(JSON.stringify(redirect)).not.toContain("SECRET");
    }),
  );
});
