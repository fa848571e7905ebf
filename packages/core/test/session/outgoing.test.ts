/** Reading fetch's arguments once: origin checks without a parse, bodies replayable, init kept. */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  copyHeaders,
  type HeaderRecord,
  hasOrigin,
  headerRecord,
  headersForRedirect,
  readOutgoing,
  urlOf,
} from "../../src/session/outgoing.js";

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
    expect(request.headers).toEqual({ "content-type": "application/json" });
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
    const sent = copyHeaders(request.headers);
    sent.authorization = "Bearer t";
    expect(given.headers.has("authorization")).toBe(false);
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers["content-type"]).toContain("application/x-www-form-urlencoded");
    expect(request.headers["x-caller"]).toBe("1");
    expect(new TextDecoder().decode(request.body as ArrayBuffer)).toBe("a=b");
    expect(urlOf(given)).toBe("https://mcp.example.com/mcp");
  });

  it("never changes the caller's headers, whatever their form", () => {
    const headers = new Headers({ accept: "application/json" });
    const record = { accept: "application/json" };
    for (const given of [headers, record]) {
      const request = readOutgoing("https://mcp.example.com/mcp", { headers: given });
      copyHeaders((request as { headers: HeaderRecord }).headers).authorization = "Bearer t";
    }
    expect(headers.has("authorization")).toBe(false);
    expect(record).toEqual({ accept: "application/json" });
  });
});

/** What `new Headers(init)` holds, as a record (or the error it throws). */
const viaHeaders = (init: HeadersInit) => {
  try {
    const record: Record<string, string> = {};
    for (const [name, value] of new Headers(init)) {
      Object.defineProperty(record, name, {
        value: Object.hasOwn(record, name) ? `${record[name]}, ${value}` : value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return { record };
  } catch (error) {
    return { error: (error as Error).name };
  }
};
const viaRecord = (init: HeadersInit) => {
  try {
    return { record: { ...headerRecord(init) } };
  } catch (error) {
    return { error: (error as Error).name };
  }
};

describe("headerRecord", () => {
  it("holds what new Headers(init) holds: names lower-cased, values trimmed, repeats joined", () => {
    expect(
      headerRecord([
        ["Accept", " application/json\t"],
        ["accept", "text/event-stream"],
        ["X-Empty", ""],
      ]),
    ).toEqual({ accept: "application/json, text/event-stream", "x-empty": "" });
    expect(headerRecord(new Headers({ "X-A": "1" }))).toEqual({ "x-a": "1" });
    expect(headerRecord(undefined)).toEqual({});
  });

  it("refuses what Headers refuses, with a TypeError: a bad name, CR/LF/NUL, a code point above U+00FF, a pair of three", () => {
    for (const init of [
      { "bad name": "x" },
      { "x-a": "one\r\ntwo" },
      { "x-a": "nul\0" },
      { "x-a": "snowman ☃" },
      [["x-a", "1", "2"]] as unknown as HeadersInit,
      { "": "x" },
    ])
      expect(() => headerRecord(init)).toThrow(TypeError);
  });

  it("keeps a header named __proto__ as a field, in the record and in its copy", () => {
    const record = headerRecord([["__proto__", "x"]]);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(record, "__proto__")?.value).toBe("x");
    const copy = copyHeaders(record);
    expect(Object.getOwnPropertyDescriptor(copy, "__proto__")?.value).toBe("x");
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });

  it("agrees with new Headers(init) on any list of pairs (fast-check)", () => {
    const char = fc.constantFrom(...'aZ09-_.!~ \t\r\n\0:;,"é☃x'.split(""));
    const text = fc.array(char, { maxLength: 6 }).map((cs) => cs.join(""));
    const name = fc.oneof(text, fc.constantFrom("Accept", "accept", "X-A", "x-a", "__proto__"));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, text), { maxLength: 5 }), (pairs) => {
        expect(viaRecord(pairs)).toEqual(viaHeaders(pairs));
        // (undici's record conversion drops a "__proto__" key of an object: not compared there.)
        const object = Object.fromEntries(pairs.filter(([n]) => n !== "__proto__"));
        expect(viaRecord(object)).toEqual(viaHeaders(object));
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with new Headers(init) on anything at all: the same record, or a TypeError where it throws one (fast-check)", () => {
    // (An object's "__proto__" key aside: undici's record conversion drops it — see above.)
    const junk = fc.anything({ withObjectString: true, withNullPrototype: false });
    fc.assert(
      fc.property(junk, (init) => {
        if (init == null || (typeof init === "object" && Object.hasOwn(init, "__proto__"))) return;
        expect(viaRecord(init as HeadersInit)).toEqual(viaHeaders(init as HeadersInit));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("headersForRedirect", () => {
  const given = {
    "content-type": "application/json",
    "content-length": "2",
    "content-language": "en",
    cookie: "sid=1",
    "proxy-authorization": "Basic p",
    host: "mcp.example.com",
    accept: "application/json",
  };
  it("a copy of its own: body headers gone when the request turns into a GET, origin-bound ones on a hop to another origin", () => {
    const same = headersForRedirect(given, { toGet: false, crossOrigin: false });
    expect(same).toEqual(given);
    expect(same).not.toBe(given);
    expect(headersForRedirect(given, { toGet: true, crossOrigin: false })).toEqual({
      cookie: "sid=1",
      "proxy-authorization": "Basic p",
      host: "mcp.example.com",
      accept: "application/json",
    });
    expect(headersForRedirect(given, { toGet: false, crossOrigin: true })).toEqual({
      "content-type": "application/json",
      "content-length": "2",
      "content-language": "en",
      accept: "application/json",
    });
    expect(given.cookie).toBe("sid=1");
  });
});
