/** Reading fetch's arguments once: origin checks without a parse, bodies replayable, init kept. */
import { describe, expect, it } from "vitest";
import { hasOrigin, readOutgoing, urlOf } from "../../src/session/outgoing.js";

const origin = "https://mcp.example.com";

describe("hasOrigin", () => {
  it.each([
    ["https://mcp.example.com/mcp", true],
    ["https://mcp.example.com/", true],
    ["https://mcp.example.com?x=1", true],
    ["HTTPS://MCP.EXAMPLE.COM/mcp", true],
    ["https://mcp.example.com:443/mcp", true],
    ["https://mcp.example.com.evil.test/mcp", false],
    ["https://mcp.example.com@evil.test/mcp", false],
    ["https://mcp.example.com:8443/mcp", false],
    ["http://mcp.example.com/mcp", false],
    ["https://evil.test/https://mcp.example.com/", false],
    ["/mcp", false],
    ["not a url", false],
  ])("%s → %s", (url, expected) => {
    expect(hasOrigin(url, origin)).toBe(expected);
  });
});

describe("urlOf", () => {
  it("reads a URL or an absolute string as it is, stringifies anything else, and resolves a relative one as fetch would (Node refuses it)", () => {
    expect(urlOf("https://mcp.example.com/mcp")).toBe("https://mcp.example.com/mcp");
    expect(urlOf(new URL("https://mcp.example.com/a/../mcp"))).toBe("https://mcp.example.com/mcp");
    expect(urlOf({ toString: () => "https://mcp.example.com/x" } as unknown as string)).toBe(
      "https://mcp.example.com/x",
    );
    expect(() => urlOf("/mcp")).toThrow(TypeError);
  });
});

describe("readOutgoing", () => {
  it("reads a URL with a string body without building a Request: method normalized, init kept", () => {
    const signal = new AbortController().signal;
    const read = readOutgoing(new URL("https://mcp.example.com/mcp"), {
      method: "post",
      headers: { "content-type": "application/json" },
      body: '{"jsonrpc":"2.0"}',
      signal,
      keepalive: true,
    });
    expect(read).not.toBeInstanceOf(Promise);
    const request = read as Exclude<typeof read, Promise<unknown>>;
    expect(request.url).toBe("https://mcp.example.com/mcp");
    expect(request.method).toBe("POST");
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(request.body).toBe('{"jsonrpc":"2.0"}');
    expect(request.signal).toBe(signal);
    expect(request.redirect).toBe("follow");
    expect(request.rest).toEqual({ keepalive: true });
  });

  it("keeps an extension method's case, as fetch does", () => {
    const request = readOutgoing("https://mcp.example.com/mcp", { method: "Propfind" });
    expect((request as { method: string }).method).toBe("Propfind");
  });

  it("refuses a GET with a body, as fetch does", () => {
    expect(() => readOutgoing("https://mcp.example.com/mcp", { body: "x" })).toThrow(TypeError);
  });

  it("buffers a stream body once, so the request can be sent again after an authorization", async () => {
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("streamed"));
        controller.close();
      },
    });
    const request = await readOutgoing("https://mcp.example.com/mcp", {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(new TextDecoder().decode(request.body as ArrayBuffer)).toBe("streamed");
  });

  it("reads a Request: its headers copied (the caller's object is never changed), its body buffered", async () => {
    const given = new Request("https://mcp.example.com/mcp", {
      method: "POST",
      headers: { "x-caller": "1" },
      body: new URLSearchParams({ a: "b" }),
    });
    const request = await readOutgoing(given, undefined);
    request.headers.set("authorization", "Bearer t");
    expect(given.headers.has("authorization")).toBe(false);
    expect(request.headers.get("content-type")).toContain("application/x-www-form-urlencoded");
    expect(new TextDecoder().decode(request.body as ArrayBuffer)).toBe("a=b");
    expect(urlOf(given)).toBe("https://mcp.example.com/mcp");
  });

  it("never changes the caller's Headers object", () => {
    const headers = new Headers({ accept: "application/json" });
    const request = readOutgoing("https://mcp.example.com/mcp", { headers });
    (request as { headers: Headers }).headers.set("authorization", "Bearer t");
    expect(headers.has("authorization")).toBe(false);
  });
});
