/**
 * The HTTP boundary every OAuth request crosses (SPEC X1, X6, X7; DESIGN invariants): each bad
 * answer ends in its named typed error, never a crash, a hang or a silent fallback.
 */

import { type ScriptedServer, startScriptedServer } from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Deferred, Effect, Fiber } from "effect";
import { afterAll, beforeAll } from "vitest";
import { checkTransportSecurity, OAuthHttp, readJsonObject } from "../../src/services/http.js";
import { failureOf, json, stepLayer } from "../support.js";

let server: ScriptedServer;
let other: ScriptedServer;
beforeAll(async () => {
  other = await startScriptedServer({ "/elsewhere": json({ ok: true }) }, { host: "localhost" });
  server = await startScriptedServer({
    "/ok": json({ hello: "world" }),
    "/malformed": {
      status: 200,
      headers: { "content-type": "application/json" },
      body: "{not json",
    },
    "/array": json([1, 2, 3]),
    "/html": { status: 200, headers: { "content-type": "text/html" }, body: "<html></html>" },
    "/vendor-json": {
      status: 200,
      headers: { "content-type": "application/vnd.example+json; charset=utf-8" },
      body: "{}",
    },
    "/huge-declared": {
      status: 200,
      headers: { "content-type": "application/json" },
      body: `{"a":"${"x".repeat(300_000)}"}`,
    },
    "/huge-streamed": {
      status: 200,
      headers: { "content-type": "application/json" },
      chunks: { count: 400, chunk: "x".repeat(1024) },
    },
    "/redirect": {
      status: 302,
      headers: { location: `${other.origin}/elsewhere?code=secret-code` },
    },
    "/hang": { hang: true },
  });
});
afterAll(async () => {
  await server.close();
  await other.close();
});

const get = (path: string, base = () => server.origin) =>
  Effect.flatMap(OAuthHttp, (http) => http.send({ method: "GET", url: `${base()}${path}` }));
const getJson = (path: string) => Effect.flatMap(get(path), readJsonObject);

describe("OAuthHttp", () => {
  const layer = stepLayer({ policy: { timeoutMillis: 500, maxBodyBytes: 256 * 1024 } });

  it.live("reads a JSON object", () =>
    Effect.gen(function* () {
      expect(yield* getJson("/ok")).toEqual({ hello: "world" });
      expect(yield* getJson("/vendor-json")).toEqual({});
    }).pipe(Effect.provide(layer)),
  );

  it.live("malformed JSON -> MalformedJson", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(getJson("/malformed"));
      expect(error._tag).toBe("MalformedJson");
      expect((yield* failureOf(getJson("/array")))._tag).toBe("MalformedJson");
    }).pipe(Effect.provide(layer)),
  );

  it.live("wrong content type -> UnexpectedContentType", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(getJson("/html"));
      expect(error).toMatchObject({
        _tag: "UnexpectedContentType",
        contentType: "text/html",
        status: 200,
      });
    }).pipe(Effect.provide(layer)),
  );

  it.live("oversized body, declared or streamed -> ResponseTooLarge", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(get("/huge-declared"))).toMatchObject({
        _tag: "ResponseTooLarge",
        limitBytes: 256 * 1024,
      });
      expect(yield* failureOf(get("/huge-streamed"))).toMatchObject({ _tag: "ResponseTooLarge" });
    }).pipe(Effect.provide(layer)),
  );

  it.live(
    "a redirect to another origin is not followed -> UnexpectedRedirect without the query",
    () =>
      Effect.gen(function* () {
        const error = yield* failureOf(get("/redirect"));
        expect(error).toMatchObject({
          _tag: "UnexpectedRedirect",
          status: 302,
          location: `${other.origin}/elsewhere`,
        });
        expect(error.message).not.toContain("secret-code");
        expect(other.requests).toHaveLength(0);
      }).pipe(Effect.provide(layer)),
  );

  it.live("a server that never answers -> RequestTimeout", () =>
    Effect.gen(function* () {
      expect(yield* failureOf(get("/hang"))).toMatchObject({
        _tag: "RequestTimeout",
        timeoutMillis: 500,
      });
    }).pipe(Effect.provide(layer)),
  );

  it.live("a refused connection -> TransportError", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(get("/x", () => "http://127.0.0.1:1"));
      expect(error._tag).toBe("TransportError");
    }).pipe(Effect.provide(layer)),
  );

  it.live("plain http outside loopback is refused before any request (SPEC X1)", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(get("/x", () => "http://example.com"));
      expect(error).toMatchObject({ _tag: "InsecureUrl", reason: "plain http outside loopback" });
    }).pipe(Effect.provide(layer)),
  );
});

describe("OAuthHttp.layerFetch: the timeout and interruption", () => {
  const policy = { allowInsecureLoopback: true, timeoutMillis: 200 };
  const sendOver = (fetch: typeof globalThis.fetch) =>
    Effect.flatMap(OAuthHttp, (http) =>
      http.send({ method: "GET", url: "http://127.0.0.1:9/x" }),
    ).pipe(Effect.provide(OAuthHttp.layerFetch(policy, fetch)));

  it.live("headers arrive, the body never ends -> RequestTimeout, and the request is aborted", () =>
    Effect.gen(function* () {
      let signal: AbortSignal | undefined;
      const error = yield* failureOf(
        sendOver(async (_input, init) => {
          signal = init?.signal ?? undefined;
          const body = new ReadableStream<Uint8Array>({
            start: (controller) => controller.enqueue(new TextEncoder().encode('{"a":')),
          });
          return new Response(body, {
            status: 200,
            headers: { "content-type": "application/json" },
          });
        }),
      );
      expect(error).toMatchObject({ _tag: "RequestTimeout", timeoutMillis: 200 });
      expect(signal?.aborted).toBe(true);
    }),
  );

  it.live(
    "a given fetch that ignores its signal and never settles -> RequestTimeout all the same",
    () =>
      Effect.gen(function* () {
        const error = yield* failureOf(sendOver(() => new Promise<Response>(() => undefined)));
        expect(error).toMatchObject({ _tag: "RequestTimeout", timeoutMillis: 200 });
      }),
  );

  it.live("an interrupted request aborts its fetch", () =>
    Effect.gen(function* () {
      let signal: AbortSignal | undefined;
      const started = yield* Deferred.make<void>();
      const fiber = yield* Effect.fork(
        sendOver((_input, init) => {
          signal = init?.signal ?? undefined;
          Effect.runSync(Deferred.succeed(started, undefined));
          return new Promise<Response>(() => undefined);
        }),
      );
      yield* Deferred.await(started);
      yield* Fiber.interrupt(fiber);
      expect(signal?.aborted).toBe(true);
    }),
  );
});

describe("checkTransportSecurity (SPEC X1, X6)", () => {
  const policy = { allowInsecureLoopback: true };
  it.each([
    ["https://as.example/token", undefined],
    ["http://127.0.0.1:8080/token", undefined],
    ["http://[::1]:8080/token", undefined],
    ["http://localhost/token", undefined],
    ["http://as.example/token", "plain http outside loopback"],
    ["javascript:alert(1)", "scheme javascript: is not allowed"],
    ["data:text/html,x", "scheme data: is not allowed"],
    ["file:///etc/passwd", "scheme file: is not allowed"],
    ["/relative", "not an absolute URL"],
  ])("%s", (url, reason) => {
    expect(checkTransportSecurity(url, policy)?.reason).toBe(reason);
  });
  it("loopback http can be disabled", () => {
    expect(
      checkTransportSecurity("http://127.0.0.1/x", { allowInsecureLoopback: false })?._tag,
    ).toBe("InsecureUrl");
  });
});
