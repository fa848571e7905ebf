/** The loopback redirect receiver over real loopback HTTP (RFC 8252 §7.3, §8.3). */
import * as http from "node:http";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  CallbackTimeout,
  classifyCallback,
  InvalidRedirectUri,
  LoopbackPortInUse,
  type LoopbackReceiver,
  parseLoopbackRedirectUri,
  ReceiverClosed,
  startLoopbackReceiver,
} from "../src/index.js";

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A GET as a browser sends it (its own connection, so nothing is pooled across tests). */
const get = (
  url: string,
  options: { readonly headers?: Record<string, string>; readonly method?: string } = {},
) =>
  new Promise<Answer>((resolve, reject) => {
    const request = http.request(
      url,
      { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    request.on("error", reject);
    request.end();
  });

/** Listens on a port (127.0.0.1) until closed: "another program" holding it. */
const occupy = async (port = 0) => {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const freePort = async () => {
  const holder = await occupy();
  await holder.close();
  return holder.port;
};

/** Whether the port can be bound again on 127.0.0.1 (the receiver let go of it). */
const isFree = async (port: number) => {
  try {
    const holder = await occupy(port);
    await holder.close();
    return true;
  } catch {
    return false;
  }
};

let receiver: LoopbackReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const start = async (options: Parameters<typeof startLoopbackReceiver>[0]) => {
  receiver = await startLoopbackReceiver(options);
  return receiver;
};

describe("the callback", () => {
  it("resolves with the full callback URL, answers a page telling the user to close the tab, and closes", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/callback"], state: "s-1" });
    expect(r.port).toBeGreaterThan(0);
    expect(r.redirectUri).toBe(`http://127.0.0.1:${r.port}/callback`);
    const page = await get(`${r.redirectUri}?code=abc&state=s-1&iss=https%3A%2F%2Fas.example`);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["cache-control"]).toBe("no-store");
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.headers.location).toBeUndefined();
    expect(page.body).toContain("You can close this tab");
    await expect(r.callback).resolves.toBe(
      `http://127.0.0.1:${r.port}/callback?code=abc&state=s-1&iss=https%3A%2F%2Fas.example`,
    );
    await r.close();
    expect(await isFree(r.port)).toBe(true);
  });

  it("closes by itself after the callback (one shot)", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/callback"] });
    await get(`${r.redirectUri}?code=abc`);
    await r.callback;
    await expect.poll(() => isFree(r.port)).toBe(true);
    await expect(get(`${r.redirectUri}?code=again`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("an authorization error is the callback too (core reads it), with its text escaped", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/cb"], state: "st" });
    const hostile = `<script>alert("x")</script><img src=x onerror='y'>&amp;`;
    const page = await get(
      `${r.redirectUri}?error=access_denied%3Cb%3E&error_description=${encodeURIComponent(hostile)}&state=st`,
    );
    expect(page.status).toBe(200);
    expect(page.body).not.toContain("<script>");
    expect(page.body).not.toContain("<img");
    expect(page.body).not.toContain("<b>");
    expect(page.body).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt;&amp;amp;",
    );
    expect(page.body).toContain("access_denied&lt;b&gt;");
    expect(page.body).toContain("You can close this tab");
    expect(await r.callback).toContain("error=access_denied");
  });
});

describe("requests that are not the callback do not end the wait", () => {
  it("a wrong path is a 404 (exact match: no prefix, no trailing slash, no case folding)", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/callback"], state: "s" });
    for (const path of ["/", "/favicon.ico", "/callback/", "/Callback", "/callback/x", "/cb"]) {
      const page = await get(`http://127.0.0.1:${r.port}${path}?code=c&state=s`);
      expect(page.status, path).toBe(404);
    }
    const page = await get(`${r.redirectUri}?code=c&state=s`);
    expect(page.status).toBe(200);
    await expect(r.callback).resolves.toContain("code=c");
  });

  it("another or no state is an error page, and the real callback still completes", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/callback"], state: "right" });
    const wrong = await get(`${r.redirectUri}?code=c&state=wrong`);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain("does not belong to the sign-in");
    expect((await get(`${r.redirectUri}?code=c`)).status).toBe(400);
    expect((await get(`${r.redirectUri}?code=c&state=right`)).status).toBe(200);
    await expect(r.callback).resolves.toContain("state=right");
  });

  it("bound before the request exists (requireState): nothing is the callback until expectState; then only that state", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/callback"], requireState: true });
    // A request before the authorization request exists is stray, whatever it carries.
    expect((await get(`${r.redirectUri}?code=c&state=guess`)).status).toBe(400);
    expect((await get(`${r.redirectUri}?code=c`)).status).toBe(400);
    r.expectState("late");
    expect((await get(`${r.redirectUri}?code=c&state=guess`)).status).toBe(400);
    expect((await get(`${r.redirectUri}?code=c&state=late`)).status).toBe(200);
    await expect(r.callback).resolves.toContain("state=late");
  });

  it("another Host (a DNS-rebinding page) is refused; so is any method but GET", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/callback"] });
    const rebound = await get(`${r.redirectUri}?code=c`, {
      headers: { host: `evil.example:${r.port}` },
    });
    expect(rebound.status).toBe(421);
    const posted = await get(`${r.redirectUri}?code=c`, { method: "POST" });
    expect(posted.status).toBe(405);
    expect(posted.headers.allow).toBe("GET");
    expect((await get(`${r.redirectUri}?code=c`)).status).toBe(200);
    await r.callback;
  });
});

describe("ports", () => {
  it("serves the fixed port the redirect URI names", async () => {
    const port = await freePort();
    const r = await start({ redirectUris: [`http://127.0.0.1:${port}/callback`] });
    expect(r.port).toBe(port);
    expect(r.redirectUri).toBe(`http://127.0.0.1:${port}/callback`);
    expect((await get(`${r.redirectUri}?code=c`)).status).toBe(200);
  });

  it("a port in use is a typed error naming it", async () => {
    const holder = await occupy();
    try {
      const error = await startLoopbackReceiver({
        redirectUris: [`http://127.0.0.1:${holder.port}/callback`],
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LoopbackPortInUse);
      expect(error).toMatchObject({ _tag: "LoopbackPortInUse", ports: [holder.port] });
      expect((error as Error).message).toContain(String(holder.port));
    } finally {
      await holder.close();
    }
  });

  it("tries the registered ports in order; all taken names them all", async () => {
    const first = await occupy();
    const second = await occupy();
    const third = await freePort();
    try {
      const r = await start({
        redirectUris: [
          `http://127.0.0.1:${first.port}/cb`,
          `http://127.0.0.1:${second.port}/cb`,
          `http://127.0.0.1:${third}/cb`,
        ],
      });
      expect(r.redirectUri).toBe(`http://127.0.0.1:${third}/cb`);
      await r.close();
      await expect(
        startLoopbackReceiver({
          redirectUris: [`http://127.0.0.1:${first.port}/cb`, `http://127.0.0.1:${second.port}/cb`],
        }),
      ).rejects.toMatchObject({ _tag: "LoopbackPortInUse", ports: [first.port, second.port] });
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe("ending without a callback", () => {
  it("the AbortSignal closes the server (the port is free again) and rejects with its reason", async () => {
    const controller = new AbortController();
    const r = await start({
      redirectUris: ["http://127.0.0.1:0/callback"],
      signal: controller.signal,
    });
    const reason = new Error("stopped");
    controller.abort(reason);
    await expect(r.callback).rejects.toBe(reason);
    await r.close();
    expect(await isFree(r.port)).toBe(true);
  });

  it("an already aborted signal binds nothing", async () => {
    await expect(
      startLoopbackReceiver({
        redirectUris: ["http://127.0.0.1:0/callback"],
        signal: AbortSignal.abort(new Error("early")),
      }),
    ).rejects.toThrow("early");
  });

  it("the timeout is a typed error and frees the port", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/callback"], timeoutMillis: 50 });
    const error = await r.callback.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallbackTimeout);
    await r.close();
    expect(await isFree(r.port)).toBe(true);
  });

  it("close() rejects the wait with ReceiverClosed", async () => {
    const r = await start({ redirectUris: ["http://127.0.0.1:0/callback"] });
    await r.close();
    await expect(r.callback).rejects.toBeInstanceOf(ReceiverClosed);
    expect(await isFree(r.port)).toBe(true);
  });
});

describe("redirect URIs", () => {
  it.each([
    ["https://127.0.0.1:8080/cb", "http"],
    ["http://0.0.0.0:8080/cb", "host"],
    ["http://example.com:8080/cb", "host"],
    ["http://127.0.0.2:8080/cb", "host"],
    ["http://user:pw@127.0.0.1:8080/cb", "userinfo"],
    ["http://127.0.0.1:8080/cb#x", "fragment"],
    ["not a url", "not a URL"],
  ])("%s is refused (%s)", (uri, reason) => {
    expect(() => parseLoopbackRedirectUri(uri)).toThrow(InvalidRedirectUri);
    expect(() => parseLoopbackRedirectUri(uri)).toThrow(reason);
  });

  it("binds 127.0.0.1 for the IPv4 literal, ::1 for [::1], both for localhost", () => {
    expect(parseLoopbackRedirectUri("http://127.0.0.1:1/a").addresses).toEqual(["127.0.0.1"]);
    expect(parseLoopbackRedirectUri("http://[::1]:1/a").addresses).toEqual(["::1"]);
    expect(parseLoopbackRedirectUri("http://localhost:1/a").addresses).toEqual([
      "127.0.0.1",
      "::1",
    ]);
    expect(parseLoopbackRedirectUri("http://127.0.0.1/a").port).toBe(80);
  });

  it("localhost is served on 127.0.0.1 (and ::1 where the host has IPv6)", async () => {
    const r = await start({ redirectUris: ["http://localhost:0/callback"] });
    expect(r.redirectUri).toBe(`http://localhost:${r.port}/callback`);
    const page = await get(`http://127.0.0.1:${r.port}/callback?code=c`, {
      headers: { host: `localhost:${r.port}` },
    });
    expect(page.status).toBe(200);
    await expect(r.callback).resolves.toBe(`http://localhost:${r.port}/callback?code=c`);
  });

  it("classifyCallback: origin and exact path, then state", () => {
    const redirectUri = new URL("http://127.0.0.1:5000/callback");
    const verdict = (url: string, state?: string) =>
      classifyCallback(new URL(url), { redirectUri, state });
    expect(verdict("http://127.0.0.1:5000/callback?state=a", "a")).toBe("callback");
    expect(verdict("http://127.0.0.1:5000/callback?code=x")).toBe("callback");
    expect(verdict("http://127.0.0.1:5001/callback?state=a", "a")).toBe("wrong-endpoint");
    expect(verdict("http://localhost:5000/callback?state=a", "a")).toBe("wrong-endpoint");
    expect(verdict("http://127.0.0.1:5000/callback/?state=a", "a")).toBe("wrong-endpoint");
    expect(verdict("http://127.0.0.1:5000/callback?state=b", "a")).toBe("wrong-state");
    expect(verdict("http://127.0.0.1:5000/callback", "a")).toBe("wrong-state");
  });
});
