/**
 * Headless machines (issue 8): a session under the authorization code whose user agent has no
 * browser here (nodeUserAgent with `headless: true`, or without a display) takes the device
 * authorization grant (RFC 8628) when the authorization server offers it — a decision the trace
 * names — and the browser step in paste mode when it does not. Against the real authorization
 * server (oidc-provider through testkit, `authServer.deviceFlow`) and the MCP SDK server; the
 * headless user enters the code over the server's own device pages.
 */
import { PassThrough } from "node:stream";
import { createSession, type Session, type SessionOptions, type TraceEntry } from "@authchart/core";
import { nodeUserAgent } from "@authchart/node";
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { Effect, Option } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, memoryStore, toolText } from "./support.js";

// An ephemeral port (RFC 8252 §7.3): the receivers of these tests never contend for a fixed port
// with other test files running at the same time.
const redirectUri = "http://127.0.0.1:0/callback";
const registeredRedirectUri = "http://127.0.0.1/callback";

const DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code";

let kit: Testkit | undefined;
let session: Session | undefined;
afterEach(async () => {
  await session?.close();
  await kit?.close();
  session = undefined;
  kit = undefined;
});

/** What the user agent prints, collected. */
const sink = () => {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { stream, text: () => text };
};

const start = async (options: TestkitOptions, extra: Partial<SessionOptions>) => {
  const k = await startTestkit(options);
  kit = k;
  const store = memoryStore();
  const codes: string[] = [];
  const s = await createSession({
    serverUrl: k.mcpUrl,
    client: { clientName: "authchart e2e", redirectUris: [redirectUri] },
    store,
    deviceCodePresenter: async (prompt) => {
      codes.push(prompt.userCode);
      // The user types the code on another device while this client polls.
      setTimeout(() => void k.user.enterUserCode(prompt.verificationUri, prompt.userCode), 20);
    },
    ...extra,
  });
  session = s;
  const trace: TraceEntry[] = [];
  s.onTrace((entry) => trace.push(entry));
  return { k, s, store, codes, trace };
};

const deviceServer = { authServer: { deviceFlow: { interval: 1 } } } as const;

describe("a headless user agent at a server that offers the device grant", () => {
  it("signs in with a user code: no authorization request, no URL to paste; the decision is in the trace; one client for both grants", async () => {
    const out = sink();
    const input = new PassThrough();
    const { k, s, store, codes, trace } = await start(deviceServer, {
      userAgent: nodeUserAgent({ headless: true, input, output: out.stream }),
    });
    const result = await callTool(s, k.mcpUrl, "echo", { text: "from a container" });
    expect(result.status).toBe(200);
    expect(toolText(result.body.result ?? {})).toBe("from a container");
    expect(codes).toHaveLength(1);
    expect({
      authorization: k.count("authorization"),
      deviceAuthorization: k.count("device-authorization"),
      deviceTokens:
        k.requests.filter((r) => r.kind === "token" && r.grantType === DEVICE_CODE).length > 0,
    }).toEqual({ authorization: 0, deviceAuthorization: 1, deviceTokens: true });
    expect(out.text()).toBe("");
    const decisions = trace.map((t) => t.decision);
    expect(decisions).toContain("device flow");
    expect(decisions).not.toContain("browser step");
    expect(trace.find((t) => t.decision === "grant")?.reason).toContain("authorization_code");
    // Registered for the device code and the authorization code: the same client serves a later
    // browser login on this store.
    const client = Option.getOrUndefined(await Effect.runPromise(store.loadClient(k.issuer)));
    expect(client?.grantTypes).toEqual(
      expect.arrayContaining(["authorization_code", "refresh_token", DEVICE_CODE]),
    );
    expect(client?.redirectUris).toEqual([registeredRedirectUri]);
    // The token refreshes like any other (the client may use the refresh grant).
    expect(s.state().token?.hasRefreshToken).toBe(true);
    k.expireAccessTokens();
    expect((await callTool(s, k.mcpUrl, "echo", { text: "again" })).status).toBe(200);
    expect(k.count("device-authorization")).toBe(1);
  });

  it("a user agent with a browser keeps the browser step there", async () => {
    const { k, s, codes, trace } = await start(deviceServer, {
      userAgent: nodeUserAgent({
        headless: false,
        output: sink().stream,
        launch: async (url) => {
          await fetch(await k.user.authorize(url)).catch(() => undefined);
        },
      }),
    });
    expect((await callTool(s, k.mcpUrl, "echo", { text: "desk" })).status).toBe(200);
    expect(codes).toHaveLength(0);
    expect(k.count("authorization")).toBe(1);
    expect(k.count("device-authorization")).toBe(0);
    expect(trace.map((t) => t.decision)).not.toContain("device flow");
  });

  it("a headless user agent that opts out (preferDeviceFlow: false) pastes the callback", async () => {
    const out = sink();
    const input = new PassThrough();
    const { k, s, codes } = await start(deviceServer, {
      userAgent: nodeUserAgent({
        headless: true,
        preferDeviceFlow: false,
        input,
        output: out.stream,
      }),
    });
    const call = callTool(s, k.mcpUrl, "echo", { text: "pasted" });
    await expect.poll(() => out.text()).toContain("Open this address");
    const url = /https?:\/\/\S+\/authorize\S*/.exec(out.text())?.[0] ?? "";
    input.write(`${await k.user.authorize(url)}\n`);
    expect((await call).status).toBe(200);
    expect(codes).toHaveLength(0);
    expect(k.count("device-authorization")).toBe(0);
  });
});

describe("a headless user agent at a server without the device grant", () => {
  it("prints the URL and takes the pasted callback; the trace says why", async () => {
    const out = sink();
    const input = new PassThrough();
    const { k, s, codes, trace } = await start(
      {},
      { userAgent: nodeUserAgent({ headless: true, input, output: out.stream }) },
    );
    const call = callTool(s, k.mcpUrl, "echo", { text: "ssh" });
    await expect.poll(() => out.text()).toContain("Open this address");
    const url = /https?:\/\/\S+\/authorize\S*/.exec(out.text())?.[0] ?? "";
    input.write(`${await k.user.authorize(url)}\n`);
    expect((await call).status).toBe(200);
    expect(codes).toHaveLength(0);
    expect(trace.find((t) => t.decision === "browser step")?.reason).toContain(
      "no device authorization grant",
    );
  });
});
