import { afterEach, describe, expect, it } from "vitest";
import { type ScriptedServer, startScriptedServer } from "../src/index.js";

let server: ScriptedServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("the scripted server", () => {
  it("answers scripted routes, 404 JSON for others, and logs requests without queries", async () => {
    server = await startScriptedServer({
      "/.well-known/oauth-protected-resource": {
        body: "{not json",
        headers: { "content-type": "application/json" },
      },
      "/text": { status: 200, headers: { "content-type": "text/html" }, body: "<html></html>" },
    });
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const malformed = await fetch(`${server.origin}/.well-known/oauth-protected-resource?x=1`);
    expect(malformed.status).toBe(200);
    expect(await malformed.text()).toBe("{not json");

    const html = await fetch(`${server.origin}/text`);
    expect(html.headers.get("content-type")).toBe("text/html");

    const missing = await fetch(`${server.origin}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "not_found", path: "/nope" });

    expect(server.requests.map((r) => [r.server, r.kind, r.path, r.status])).toEqual([
      ["scripted", "prm", "/.well-known/oauth-protected-resource", 200],
      ["scripted", "other", "/text", 200],
      ["scripted", "other", "/nope", 404],
    ]);
  });

  it("routes can be functions, be added later, redirect elsewhere and repeat header lines", async () => {
    server = await startScriptedServer();
    server.route("/token", (req) => ({
      status: 400,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        error: "invalid_grant",
        echoed: req.body,
        q: req.query.get("a"),
        origin: req.origin,
      }),
    }));
    server.route("/redirect", {
      status: 302,
      headers: {
        location: "http://127.0.0.2:1/elsewhere",
        "www-authenticate": ['Basic realm="x"', "Bearer"],
      },
    });
    const token = await fetch(`${server.origin}/token?a=b`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=refresh_token&refresh_token=r",
    });
    expect(token.status).toBe(400);
    expect(await token.json()).toEqual({
      error: "invalid_grant",
      echoed: "grant_type=refresh_token&refresh_token=r",
      q: "b",
      origin: server.origin,
    });
    expect(server.requests[0]).toMatchObject({
      kind: "token",
      grantType: "refresh_token",
      method: "POST",
    });

    const redirect = await fetch(`${server.origin}/redirect`, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe("http://127.0.0.2:1/elsewhere");
    expect(redirect.headers.get("www-authenticate")).toBe('Basic realm="x", Bearer');
  });

  it("streams a body without content-length in chunks", async () => {
    server = await startScriptedServer({
      "/big": { chunks: { count: 1000, chunk: "x".repeat(1024) } },
    });
    const response = await fetch(`${server.origin}/big`);
    expect(response.headers.get("content-length")).toBeNull();
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
    expect((await response.text()).length).toBe(1024 * 1000);
  });

  it("delays answers", async () => {
    server = await startScriptedServer({ "/slow": { delayMs: 150, body: "ok" } });
    const started = Date.now();
    const response = await fetch(`${server.origin}/slow`);
    expect(await response.text()).toBe("ok");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("hangs until close(), which ends the connection", async () => {
    server = await startScriptedServer({ "/hang": { hang: true }, "/later": { delayMs: 60_000 } });
    const hanging = fetch(`${server.origin}/hang`).then(
      () => "answered",
      () => "failed",
    );
    const later = fetch(`${server.origin}/later`).then(
      () => "answered",
      () => "failed",
    );
    const timedOut = await fetch(`${server.origin}/hang`, {
      signal: AbortSignal.timeout(100),
    }).then(
      () => "answered",
      (error: unknown) => (error as Error).name,
    );
    expect(timedOut).toBe("TimeoutError");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await hanging).toBe("failed");
    expect(await later).toBe("failed");
    // Requests that never got an answer are logged with status 0 when their connection ends.
    expect(server.requests.filter((r) => r.status === 0).length).toBe(3);
  });

  it("binds to IPv6 loopback on request, and refuses non-loopback hosts", async () => {
    server = await startScriptedServer({ "/": { body: "six" } }, { host: "::1" });
    expect(server.origin).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect(await (await fetch(`${server.origin}/`)).text()).toBe("six");
    await expect(startScriptedServer({}, { host: "0.0.0.0" })).rejects.toThrow(/loopback/);
  });
});
