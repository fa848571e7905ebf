/**
 * nodeUserAgent: the receiver, the (injected) browser, paste mode, abort — and one authorization
 * end to end through createSession against the testkit's real authorization server.
 */
import * as http from "node:http";
import * as net from "node:net";
import { PassThrough } from "node:stream";
import { createSession, type Session } from "@authchart/core";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import {
  BrowserLaunchFailed,
  BrowserLaunchRefused,
  browserUrl,
  hasDisplay,
  InvalidRedirectUri,
  nodeUserAgent,
  PasteEnded,
} from "../src/index.js";

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A GET as a browser sends it. */
const get = (url: string) =>
  new Promise<Answer>((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });

const freePort = async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

const isFree = async (port: number) => {
  const server = net.createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (free) await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
};

/** Collects what the user agent tells the user. */
const sink = () => {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { stream, text: () => text };
};

const prompt = (port: number, state = "the-state") => ({
  url: `https://as.example/authorize?client_id=c&state=${state}&redirect_uri=${encodeURIComponent(`http://127.0.0.1:${port}/callback`)}`,
  redirectUri: `http://127.0.0.1:${port}/callback`,
});

describe("with a browser", () => {
  it("opens the authorization URL and resolves with the callback the browser brings back", async () => {
    const port = await freePort();
    const opened: string[] = [];
    const pages: Answer[] = [];
    const out = sink();
    const agent = nodeUserAgent({
      headless: false,
      output: out.stream,
      launch: async (url) => {
        opened.push(url);
        // The "browser" follows the AS's redirect to the callback a moment later.
        setTimeout(() => {
          void get(`http://127.0.0.1:${port}/callback?code=c1&state=the-state`).then((page) =>
            pages.push(page),
          );
        }, 10);
      },
    });
    const p = prompt(port);
    const callback = await agent(p, new AbortController().signal);
    expect(callback).toBe(`http://127.0.0.1:${port}/callback?code=c1&state=the-state`);
    expect(opened).toEqual([p.url]);
    expect(out.text()).toContain(p.url);
    await expect.poll(() => pages.length).toBe(1);
    expect(pages[0]?.body).toContain("You can close this tab");
    expect(await isFree(port)).toBe(true);
  });

  it("refuses a URL that is not http(s) before launching; the port is free again", async () => {
    const port = await freePort();
    let launched = false;
    const agent = nodeUserAgent({
      headless: false,
      output: sink().stream,
      launch: async () => {
        launched = true;
      },
    });
    for (const url of ["javascript:alert(1)", "file:///etc/passwd", "x-custom-app://open"]) {
      await expect(
        agent(
          { url, redirectUri: `http://127.0.0.1:${port}/callback` },
          new AbortController().signal,
        ),
      ).rejects.toBeInstanceOf(BrowserLaunchRefused);
    }
    expect(launched).toBe(false);
    expect(await isFree(port)).toBe(true);
  });

  it("a launch failure rejects with it and frees the port", async () => {
    const port = await freePort();
    const agent = nodeUserAgent({
      headless: false,
      output: sink().stream,
      launch: async () => {
        throw new BrowserLaunchFailed({ reason: "no xdg-open" });
      },
    });
    await expect(agent(prompt(port), new AbortController().signal)).rejects.toBeInstanceOf(
      BrowserLaunchFailed,
    );
    expect(await isFree(port)).toBe(true);
  });

  it("called as a function, an ephemeral port (:0) is refused: the request already names its redirect URI", async () => {
    const agent = nodeUserAgent({ headless: false, output: sink().stream, launch: async () => {} });
    await expect(
      agent(
        { url: "https://as.example/authorize", redirectUri: "http://127.0.0.1:0/callback" },
        new AbortController().signal,
      ),
    ).rejects.toBeInstanceOf(InvalidRedirectUri);
  });

  it("the AbortSignal stops everything: the server closes, the port is free again", async () => {
    const port = await freePort();
    const controller = new AbortController();
    const agent = nodeUserAgent({
      headless: false,
      output: sink().stream,
      launch: async () => {
        setTimeout(() => controller.abort(new Error("session closed")), 10);
      },
    });
    await expect(agent(prompt(port), controller.signal)).rejects.toThrow("session closed");
    expect(await isFree(port)).toBe(true);
  });

  it("the timeout is a typed error", async () => {
    const port = await freePort();
    const agent = nodeUserAgent({
      headless: false,
      output: sink().stream,
      timeoutMillis: 50,
      launch: async () => {},
    });
    await expect(agent(prompt(port), new AbortController().signal)).rejects.toMatchObject({
      _tag: "CallbackTimeout",
    });
    expect(await isFree(port)).toBe(true);
  });
});

/** The authorization URL core builds once the endpoint is prepared: it names the bound URI. */
const requestFor = (redirectUri: string, state = "the-state") =>
  `https://as.example/authorize?client_id=c&state=${state}&redirect_uri=${encodeURIComponent(redirectUri)}`;

describe("prepare: the receiver binds before the authorization request exists (RFC 8252 §7.3)", () => {
  const never = new AbortController().signal;

  it("an ephemeral port: bound at once, named in the request, the callback resolves, close frees it", async () => {
    let bound = "";
    const agent = nodeUserAgent({
      headless: false,
      output: sink().stream,
      launch: async (url) => {
        expect(new URL(url).searchParams.get("redirect_uri")).toBe(bound);
        setTimeout(() => void get(`${bound}?code=c5&state=the-state`), 10);
      },
    });
    const prepared = await agent.prepare("http://127.0.0.1:0/callback", never);
    bound = prepared.redirectUri;
    const port = Number(new URL(bound).port);
    expect(bound).toBe(`http://127.0.0.1:${port}/callback`);
    expect(port).toBeGreaterThan(0);
    expect(await isFree(port)).toBe(false);
    // Before the request exists nothing is the callback: a guess does not end the wait.
    expect((await get(`${bound}?code=guess&state=the-state`)).status).toBe(400);
    await expect(prepared.authorize(requestFor(bound), never)).resolves.toBe(
      `${bound}?code=c5&state=the-state`,
    );
    await prepared.close();
    expect(await isFree(port)).toBe(true);
  });

  it("two preparations at once bind two distinct ports", async () => {
    const agent = nodeUserAgent({ headless: false, output: sink().stream, launch: async () => {} });
    const [a, b] = await Promise.all([
      agent.prepare("http://127.0.0.1:0/callback", never),
      agent.prepare("http://127.0.0.1:0/callback", never),
    ]);
    expect(a.redirectUri).not.toBe(b.redirectUri);
    await Promise.all([a.close(), b.close()]);
  });

  it("[::1]:0 binds an IPv6 port; localhost:0 is refused (any port only for an IP literal)", async () => {
    const agent = nodeUserAgent({ headless: false, output: sink().stream });
    const v6 = await agent.prepare("http://[::1]:0/cb", never).catch(() => undefined);
    // A host without IPv6 cannot bind ::1; where it can, the real port is named.
    if (v6 !== undefined) {
      expect(v6.redirectUri).toMatch(/^http:\/\/\[::1\]:[1-9]\d*\/cb$/);
      await v6.close();
    }
    await expect(agent.prepare("http://localhost:0/cb", never)).rejects.toBeInstanceOf(
      InvalidRedirectUri,
    );
  });

  it("a fixed port is served and named exactly as registered", async () => {
    const port = await freePort();
    const agent = nodeUserAgent({ headless: false, output: sink().stream });
    const prepared = await agent.prepare(`http://127.0.0.1:${port}/callback`, never);
    expect(prepared.redirectUri).toBe(`http://127.0.0.1:${port}/callback`);
    expect(await isFree(port)).toBe(false);
    await prepared.close();
    expect(await isFree(port)).toBe(true);
  });

  it("closed without a browser step (the flow failed in between): the port is free again", async () => {
    const agent = nodeUserAgent({ headless: false, output: sink().stream });
    const prepared = await agent.prepare("http://127.0.0.1:0/callback", never);
    const port = Number(new URL(prepared.redirectUri).port);
    await prepared.close();
    await prepared.close();
    expect(await isFree(port)).toBe(true);
  });

  it("paste mode: a pasted URL on another port or path than the bound one is refused; the bound one is the callback", async () => {
    const input = new PassThrough();
    const out = sink();
    const agent = nodeUserAgent({ headless: true, input, output: out.stream });
    const prepared = await agent.prepare("http://127.0.0.1:0/callback", never);
    const bound = new URL(prepared.redirectUri);
    const pending = prepared.authorize(requestFor(bound.href), never);
    await expect.poll(() => out.text()).toContain(bound.href);
    input.write(`http://127.0.0.1:${Number(bound.port) + 1}/callback?code=x&state=the-state\n`);
    input.write(`http://127.0.0.1:${bound.port}/other?code=x&state=the-state\n`);
    input.write(`${bound.href}?code=c6&state=the-state\n`);
    await expect(pending).resolves.toBe(`${bound.href}?code=c6&state=the-state`);
    expect(out.text().match(/That is not the callback address/g)).toHaveLength(2);
    await prepared.close();
    expect(input.listenerCount("data")).toBe(0);
  });

  it("the browser step's AbortSignal ends the wait with its reason; close frees the port", async () => {
    const controller = new AbortController();
    const agent = nodeUserAgent({
      headless: false,
      output: sink().stream,
      launch: async () => {
        setTimeout(() => controller.abort(new Error("request aborted")), 10);
      },
    });
    const prepared = await agent.prepare("http://127.0.0.1:0/callback", never);
    const port = Number(new URL(prepared.redirectUri).port);
    await expect(
      prepared.authorize(requestFor(prepared.redirectUri), controller.signal),
    ).rejects.toThrow("request aborted");
    await prepared.close();
    expect(await isFree(port)).toBe(true);
  });
});

describe("paste mode (no display, or headless: true)", () => {
  it("prints the URL, ignores lines that are not this flow's callback, resolves with the pasted one", async () => {
    const port = await freePort();
    const input = new PassThrough();
    const out = sink();
    let launched = false;
    const agent = nodeUserAgent({
      headless: true,
      input,
      output: out.stream,
      launch: async () => {
        launched = true;
      },
    });
    const p = prompt(port);
    const pending = agent(p, new AbortController().signal);
    await expect.poll(() => out.text()).toContain(p.url);
    input.write("\n");
    input.write("hello\n");
    input.write(`http://127.0.0.1:${port}/other?code=x&state=the-state\n`);
    input.write(`http://127.0.0.1:${port}/callback?code=x&state=old\n`);
    input.write(`  http://127.0.0.1:${port}/callback?code=c2&state=the-state  \r\n`);
    await expect(pending).resolves.toBe(
      `http://127.0.0.1:${port}/callback?code=c2&state=the-state`,
    );
    expect(out.text()).toContain("That is not the callback address");
    expect(out.text()).toContain("belongs to another sign-in");
    expect(launched).toBe(false);
    expect(await isFree(port)).toBe(true);
    // The reader let go of the stream: nothing listens for lines any more.
    expect(input.listenerCount("data")).toBe(0);
  });

  it("the receiver still listens (a forwarded port works without pasting)", async () => {
    const port = await freePort();
    const input = new PassThrough();
    const out = sink();
    const agent = nodeUserAgent({ headless: true, input, output: out.stream });
    const pending = agent(prompt(port), new AbortController().signal);
    // Printed once the receiver listens.
    await expect.poll(() => out.text()).toContain("Open this address");
    expect((await get(`http://127.0.0.1:${port}/callback?code=c3&state=the-state`)).status).toBe(
      200,
    );
    await expect(pending).resolves.toContain("code=c3");
    expect(input.listenerCount("data")).toBe(0);
  });

  it("the input ending first is PasteEnded", async () => {
    const port = await freePort();
    const input = new PassThrough();
    const agent = nodeUserAgent({ headless: true, input, output: sink().stream });
    const pending = agent(prompt(port), new AbortController().signal);
    input.end("not a url\n");
    await expect(pending).rejects.toBeInstanceOf(PasteEnded);
    expect(await isFree(port)).toBe(true);
  });

  it("abort in paste mode closes the server and the reader", async () => {
    const port = await freePort();
    const input = new PassThrough();
    const controller = new AbortController();
    const out = sink();
    const agent = nodeUserAgent({ headless: true, input, output: out.stream });
    const pending = agent(prompt(port), controller.signal);
    await expect.poll(() => out.text()).toContain("Open this address");
    expect(await isFree(port)).toBe(false);
    controller.abort(new Error("cancelled"));
    await expect(pending).rejects.toThrow("cancelled");
    expect(await isFree(port)).toBe(true);
    expect(input.listenerCount("data")).toBe(0);
  });

  it("no display on Linux means paste mode without being asked", async () => {
    const port = await freePort();
    const input = new PassThrough();
    let launched = false;
    const agent = nodeUserAgent({
      env: {},
      platform: "linux",
      input,
      output: sink().stream,
      launch: async () => {
        launched = true;
      },
    });
    const pending = agent(prompt(port), new AbortController().signal);
    input.write(`http://127.0.0.1:${port}/callback?code=c4&state=the-state\n`);
    await expect(pending).resolves.toContain("code=c4");
    expect(launched).toBe(false);
  });

  it("headless, it prefers the device authorization grant (core uses it where offered); opt out with preferDeviceFlow: false", () => {
    expect(nodeUserAgent({ headless: true }).prefersDeviceFlow).toBe(true);
    expect(nodeUserAgent({ env: {}, platform: "linux" }).prefersDeviceFlow).toBe(true);
    expect(nodeUserAgent({ headless: false }).prefersDeviceFlow).toBe(false);
    expect(nodeUserAgent({ headless: true, preferDeviceFlow: false }).prefersDeviceFlow).toBe(
      false,
    );
    expect(nodeUserAgent({ env: { DISPLAY: ":0" }, platform: "linux" }).headless).toBe(false);
  });

  it("hasDisplay", () => {
    expect(hasDisplay({}, "linux")).toBe(false);
    expect(hasDisplay({ DISPLAY: "" }, "linux")).toBe(false);
    expect(hasDisplay({ DISPLAY: ":0" }, "linux")).toBe(true);
    expect(hasDisplay({ WAYLAND_DISPLAY: "wayland-0" }, "freebsd")).toBe(true);
    expect(hasDisplay({}, "darwin")).toBe(true);
    expect(hasDisplay({}, "win32")).toBe(true);
  });
});

describe("browserUrl", () => {
  it("passes http(s) re-serialized (controls and spaces percent-encoded), refuses the rest", () => {
    expect(browserUrl("https://as.example/a?b=c d\u001b[31m")).toBe(
      "https://as.example/a?b=c%20d%1B[31m",
    );
    expect(browserUrl("http://127.0.0.1:3000/authorize")).toBe("http://127.0.0.1:3000/authorize");
    expect(() => browserUrl("javascript:alert(1)")).toThrow(BrowserLaunchRefused);
    expect(() => browserUrl("-a")).toThrow(BrowserLaunchRefused);
    expect(() => browserUrl("data:text/html,hi")).toThrow("data:");
  });
});

describe("end to end: createSession with nodeUserAgent against the testkit", () => {
  let kit: Testkit | undefined;
  let session: Session | undefined;
  afterEach(async () => {
    await session?.close();
    await kit?.close();
    session = undefined;
    kit = undefined;
  });

  it("the test browser logs in at the real AS and GETs the callback on the receiver; the session is authorized", async () => {
    const k = await startTestkit();
    kit = k;
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/callback`;
    const callbackPages: Answer[] = [];
    /** Does what a browser does: the AS's pages (the testkit user answers them), then the redirect. */
    const testBrowser = async (url: string) => {
      const callback = await k.user.authorize(url);
      expect(callback.startsWith(`${redirectUri}?`)).toBe(true);
      callbackPages.push(await get(callback));
    };
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: { clientName: "authchart node e2e", redirectUris: [redirectUri] },
      userAgent: nodeUserAgent({ launch: testBrowser, headless: false, output: sink().stream }),
    });
    session = s;
    await s.authorize();
    expect(s.state().value).toBe("authorized");
    expect(k.user.authorizations).toBe(1);
    expect(callbackPages.map((p) => p.status)).toEqual([200]);
    expect(callbackPages[0]?.body).toContain("You can close this tab");
    expect(await isFree(port)).toBe(true);

    // The token works at the MCP server.
    const response = await s.fetch(k.mcpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "authchart-node-e2e", version: "0.1.0" },
        },
      }),
    });
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });

  it("an ephemeral port: the receiver binds first, the real port goes into the request and the token request, and is freed", async () => {
    const k = await startTestkit();
    kit = k;
    const sent: string[] = [];
    const testBrowser = async (url: string) => {
      sent.push(new URL(url).searchParams.get("redirect_uri") ?? "");
      await get(await k.user.authorize(url));
    };
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: { clientName: "authchart node e2e", redirectUris: ["http://127.0.0.1:0/callback"] },
      userAgent: nodeUserAgent({ launch: testBrowser, headless: false, output: sink().stream }),
    });
    session = s;
    await s.authorize();
    expect(s.state().value).toBe("authorized");
    const port = Number(new URL(sent[0] ?? "").port);
    expect(sent).toEqual([`http://127.0.0.1:${port}/callback`]);
    expect(port).toBeGreaterThan(0);
    expect(await isFree(port)).toBe(true);
    // The code redeemed with the same redirect_uri (oidc-provider compares them): a token.
    expect(s.state().token).toBeDefined();
  });
});
