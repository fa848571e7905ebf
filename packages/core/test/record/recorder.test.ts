/**
 * The recorder's parts one at a time: header and URL redaction, the transport wrapper against a
 * real loopback HTTP server, inspection events of a real xstate actor holding a Redacted value,
 * and reading a recording back (every malformed line named). The whole recorder over a session
 * against real servers is test/browser/report.test.ts and packages/cli/test/trace.test.ts.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Either, Redacted } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assign, createActor, setup } from "xstate";
import {
  createRecorder,
  type HttpLine,
  pathsOf,
  phaseOf,
  readTrace,
  redactHeader,
  TRACE_SCHEMA,
  timelineOf,
  userStepsOf,
} from "../../src/record/index.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl";
const OPAQUE = "opaque-access-token-0123456789";

describe("redactHeader", () => {
  it("keeps the scheme of Authorization, redacts its credential", () => {
    expect(redactHeader("Authorization", `Bearer ${OPAQUE}`)).toBe("Bearer <redacted>");
    expect(redactHeader("authorization", "Basic Y2xpZW50OnNlY3JldA==")).toBe("Basic <redacted>");
    expect(redactHeader("proxy-authorization", "x")).toBe("<redacted>");
  });

  it("redacts DPoP proofs, cookies, session ids and API keys whole", () => {
    for (const name of [
      "DPoP",
      "Cookie",
      "Set-Cookie",
      "Mcp-Session-Id",
      "X-Api-Key",
      "x-amz-security-token",
      "X-Client-Secret",
    ])
      expect(redactHeader(name, "value-that-is-a-credential")).toBe("<redacted>");
  });

  it("keeps a challenge, hides query values of a Location, and any JWT anywhere", () => {
    const challenge = 'Bearer error="insufficient_scope", scope="mcp:write"';
    expect(redactHeader("WWW-Authenticate", challenge)).toBe(challenge);
    expect(redactHeader("Location", "https://app.example/cb?code=abc&state=xyz")).toBe(
      "https://app.example/cb?code=…&state=…",
    );
    expect(redactHeader("x-debug", `carried ${TOKEN} here`)).toBe("carried <redacted> here");
  });
});

describe("phaseOf", () => {
  const known = {
    resources: new Set(["https://mcp.example/mcp"]),
    registration: new Set(["https://as.example/register"]),
    authorization: new Set(["https://as.example/authorize"]),
    token: new Set(["https://as.example/token"]),
    revocation: new Set(["https://as.example/revoke"]),
  };
  it("well-known metadata is discovery; endpoints by what the metadata names them", () => {
    expect(phaseOf("https://mcp.example/.well-known/oauth-protected-resource/mcp", known)).toBe(
      "discovery",
    );
    expect(phaseOf("https://as.example/token", known)).toBe("token");
    expect(phaseOf("https://as.example/register", known)).toBe("registration");
    expect(phaseOf("https://as.example/revoke", known)).toBe("revocation");
    expect(phaseOf("https://mcp.example/mcp?x=1", known)).toBe("resource");
    expect(phaseOf("https://elsewhere.example/", known)).toBe("other");
    expect(phaseOf("not a url", known)).toBe("other");
  });
});

describe("the transport wrapper, against a loopback server", () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((request, response) => {
      if (request.url?.startsWith("/protected")) {
        response.writeHead(401, {
          "www-authenticate": 'Bearer resource_metadata="x"',
          "set-cookie": "sid=cookie-secret-value",
          "mcp-session-id": "session-secret-value",
        });
        response.end();
        return;
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("records method, URL without query values, status, headers redacted; the body untouched", async () => {
    const recorder = createRecorder({ serverUrl: `${base}/protected` });
    const fetch = recorder.fetch();
    const response = await fetch(`${base}/protected?api_key=query-secret-value`, {
      method: "POST",
      headers: { authorization: `Bearer ${OPAQUE}`, dpop: TOKEN, "content-type": "text/plain" },
      body: "body-secret-value",
    });
    expect(response.status).toBe(401);
    // A later line naming the credential (here a decision) is scrubbed of it.
    recorder.onTrace({ type: "trace", decision: "discover", reason: `held ${OPAQUE}` });
    const [start, exchange, decision] = recorder.lines();
    expect(start).toMatchObject({ kind: "start", schema: TRACE_SCHEMA });
    expect(exchange).toMatchObject({
      kind: "http",
      id: 1,
      phase: "resource",
      method: "POST",
      url: `${base}/protected?api_key=…`,
      status: 401,
      requestHeaders: {
        authorization: "Bearer <redacted>",
        dpop: "<redacted>",
        "content-type": "text/plain",
      },
      responseHeaders: {
        "www-authenticate": 'Bearer resource_metadata="x"',
        "set-cookie": "<redacted>",
        "mcp-session-id": "<redacted>",
      },
    });
    expect((exchange as HttpLine).durationMillis).toBeGreaterThanOrEqual(0);
    expect(decision).toMatchObject({ kind: "decision", reason: "held <redacted>" });
    const text = recorder.jsonLines();
    for (const secret of [
      OPAQUE,
      TOKEN,
      "query-secret-value",
      "body-secret-value",
      "cookie-secret-value",
      "session-secret-value",
    ])
      expect(text).not.toContain(secret);
  });

  it("a request that gets no answer is recorded with its failure and rethrown", async () => {
    const lines: unknown[] = [];
    const recorder = createRecorder({ onLine: (line) => lines.push(line) });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(recorder.fetch()(`http://127.0.0.1:${port}/x`)).rejects.toThrow();
    expect(lines.at(-1)).toMatchObject({
      kind: "http",
      method: "GET",
      phase: "other",
      failure: { tag: "TypeError" },
    });
    expect((lines.at(-1) as HttpLine).status).toBeUndefined();
  });

  it("a writer that throws does not fail the request it records", async () => {
    const recorder = createRecorder({
      onLine: () => {
        throw new Error("disk full");
      },
    });
    expect((await recorder.fetch()(`${base}/open`)).status).toBe(200);
    expect(recorder.lines()).toHaveLength(2);
  });
});

/** A machine like the lifecycle in miniature: a secret travels on an event, context keeps it Redacted. */
const machine = setup({
  types: {
    context: {} as { readonly secret?: Redacted.Redacted<string>; readonly code?: string },
    events: {} as { type: "go"; code: string } | { type: "fail" },
  },
}).createMachine({
  id: "mini",
  initial: "idle",
  context: {},
  states: {
    idle: {
      on: {
        go: {
          target: "authorizing",
          actions: assign({
            secret: () => Redacted.make("context-secret"),
            code: ({ event }) => event.code,
          }),
        },
      },
    },
    authorizing: { on: { fail: "failed" } },
    failed: { type: "final" },
  },
});

describe("inspection events of a real actor", () => {
  it("reduced to data and redacted: actors, states, transitions taken, no secret", () => {
    const recorder = createRecorder();
    const actor = createActor(machine, { inspect: recorder.inspect });
    actor.start();
    actor.send({ type: "go", code: "event-code-secret" });
    actor.send({ type: "fail" });
    actor.stop();
    const lines = recorder.lines();
    expect(lines).toContainEqual(
      expect.objectContaining({ kind: "inspect", type: "@xstate.actor", machine: "mini" }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        type: "@xstate.microstep",
        transitions: [{ source: "mini.idle", targets: ["mini.authorizing"], event: "go" }],
      }),
    );
    const text = recorder.jsonLines();
    expect(text).not.toContain("context-secret");
    expect(text).not.toContain("event-code-secret");
    expect(text).toContain("<redacted>");

    const read = readTrace(text);
    expect(Either.isRight(read)).toBe(true);
    const recorded = Either.getOrThrow(read);
    const path = pathsOf(recorded).get("mini");
    expect([...(path?.visited ?? [])]).toEqual(
      expect.arrayContaining(["mini.idle", "mini.authorizing", "mini.failed"]),
    );
    expect(path?.transitions.map((t) => `${t.source}>${t.target}`)).toEqual([
      "mini.idle>mini.authorizing",
      "mini.authorizing>mini.failed",
    ]);
    const timeline = timelineOf(recorded);
    expect(
      timeline.filter((e) => e.kind === "state").map((e) => e.kind === "state" && e.state),
    ).toEqual(["idle", "authorizing", "failed"]);
    expect(timeline).toContainEqual(
      expect.objectContaining({ kind: "failure", machine: "mini", step: "authorizing" }),
    );
    expect(userStepsOf(timeline)).toEqual([
      expect.objectContaining({ machine: "mini", state: "authorizing", next: "failed" }),
    ]);
  });
});

describe("finish", () => {
  it("an outcome line: a typed error's tag and message; anything else by its name only", () => {
    const typed = createRecorder();
    typed.finish({ _tag: "RegistrationRejected", message: "the server refused" }, "do this");
    typed.finish(); // once only
    expect(typed.lines().filter((l) => l.kind === "outcome")).toEqual([
      expect.objectContaining({
        ok: false,
        error: { tag: "RegistrationRejected", message: "the server refused" },
        hint: "do this",
      }),
    ]);
    const untyped = createRecorder();
    untyped.finish(new Error(`leaked ${OPAQUE}`));
    expect(untyped.jsonLines()).not.toContain(OPAQUE);
    expect(untyped.lines().at(-1)).toMatchObject({ ok: false, error: { tag: "Error" } });
  });
});

describe("readTrace", () => {
  const start = JSON.stringify({
    kind: "start",
    time: new Date(0).toISOString(),
    schema: TRACE_SCHEMA,
  });
  it("names the line that is not JSON, not a trace line, or not a trace at all", () => {
    const notJson = readTrace(`${start}\n{oops\n`);
    expect(Either.isLeft(notJson) && notJson.left.message).toBe("line 2 of the trace is not JSON");
    const notLine = readTrace(`${start}\n{"kind":"http","time":"x"}\n`);
    expect(Either.isLeft(notLine) && notLine.left).toMatchObject({ _tag: "InvalidTrace", line: 2 });
    const noStart = readTrace(`{"kind":"decision","time":"x","decision":"d","reason":"r"}\n`);
    expect(Either.isLeft(noStart) && noStart.left.message).toContain(
      "does not start an authchart trace",
    );
    const empty = readTrace("\n\n");
    expect(Either.isLeft(empty) && empty.left.message).toContain("empty");
  });

  it("never quotes the line it refuses", () => {
    const refused = readTrace(`${start}\n{"kind":"${"x".repeat(50)}-quoted-content"}\n`);
    expect(Either.isLeft(refused) && refused.left.message).not.toContain("quoted-content");
  });
});
