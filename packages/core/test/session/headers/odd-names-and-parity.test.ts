/**
 * Header names that are Object.prototype members, odd header objects, and parity with handing
 * fetch a `new Headers(init)`: what goes on the wire, as undici's `new Request(url, { headers })`
 * reads init.headers.
 */
import { describe, expect, it } from "vitest";
import { headerRecord } from "../../../src/session/outgoing.js";
import { seeded, serverUrl } from "../restored-support.js";

/** What fetch would send for this init.headers (undici reads it as new Request does). */
const wire = (headers: unknown) =>
  [...new Request(serverUrl, { headers: headers as HeadersInit }).headers].filter(
    ([k]) => k !== "authorization" && k !== "user-agent",
  );
/** What fetch sends when handed a Headers built from the caller's init (the reference). */
const viaHeaders = (init: HeadersInit) =>
  [...new Request(serverUrl, { headers: new Headers(init) }).headers].filter(
    ([k]) => k !== "authorization" && k !== "user-agent",
  );
const outcome = (f: () => unknown) => {
  try {
    return { value: f() };
  } catch (e) {
    return { error: (e as Error).name };
  }
};

describe("prototype-member header names", () => {
  const names = [
    "constructor",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "__defineGetter__",
    "isPrototypeOf",
  ];
  it("as record, pairs and Headers: sent as ordinary fields, Object.prototype untouched", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    const entries = names.map((n, i) => [n, `v${i}`] as [string, string]);
    for (const headers of [Object.fromEntries(entries), entries, new Headers(entries)]) {
      seen.length = 0;
      const r = await session.fetch(serverUrl, { headers });
      expect(r.status).toBe(200);
      expect(wire(seen[0]?.raw)).toEqual(viaHeaders(headers as HeadersInit));
      expect(seen[0]?.headers.authorization).toBe("Bearer tok-1");
    }
    expect(Object.prototype.toString.call({})).toBe("[object Object]");
    expect({}.constructor).toBe(Object);
    await session.close();
  });

  it("a __proto__ header never sets the prototype of what fetch is handed", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    for (const headers of [
      [["__proto__", "x"]],
      new Headers([["__proto__", "x"]]),
      JSON.parse('{"__proto__": "x", "authorization": "Basic c"}'),
    ] as HeadersInit[]) {
      seen.length = 0;
      await session.fetch(serverUrl, { headers });
      // A record with Object's prototype, or (holding a __proto__ field) a Headers.
      const raw = seen[0]?.raw;
      if (!(raw instanceof Headers)) expect(Object.getPrototypeOf(raw)).toBe(Object.prototype);
      expect(seen[0]?.headers.authorization).toBe("Bearer tok-1");
    }
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    await session.close();
  });

  // undici's conversion of a record drops a "__proto__" key: such a header goes as a Headers.
  it("a __proto__ header given as pairs or a Headers is sent", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    for (const headers of [
      [["__proto__", "x"]],
      new Headers([["__proto__", "x"]]),
    ] as HeadersInit[]) {
      seen.length = 0;
      await session.fetch(serverUrl, { headers });
      expect(viaHeaders(headers)).toEqual([["__proto__", "x"]]);
      expect(wire(seen[0]?.raw)).toEqual(viaHeaders(headers));
    }
    await session.close();
  });
});

describe("odd header objects", () => {
  it("a getter is read once; inherited enumerable fields ignored (as Headers)", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    let reads = 0;
    const proto = { "x-inherited": "no" };
    const headers = Object.create(proto, {
      "x-get": {
        enumerable: true,
        get: () => {
          reads++;
          return "g";
        },
      },
    }) as Record<string, string>;
    await session.fetch(serverUrl, { headers });
    expect(reads).toBe(1);
    expect(seen[0]?.headers["x-get"]).toBe("g");
    expect(seen[0]?.headers["x-inherited"]).toBeUndefined();
    await session.close();
  });

  it("a getter that throws: its error, nothing sent", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    const headers = {
      get "x-a"(): string {
        throw new RangeError("boom");
      },
    };
    await expect(session.fetch(serverUrl, { headers })).rejects.toBeInstanceOf(RangeError);
    expect(seen).toHaveLength(0);
    await session.close();
  });

  // WebIDL's record conversion reads enumerable own keys only (browsers drop this header); Node's
  // undici reads every own key. The session follows the standard.
  it("a non-enumerable own header is not sent (Node's new Headers would send it)", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    const headers = {};
    Object.defineProperty(headers, "x-hidden", { value: "1", enumerable: false });
    await session.fetch(serverUrl, { headers });
    expect(viaHeaders(headers)).toEqual([["x-hidden", "1"]]);
    expect(seen[0]?.headers["x-hidden"]).toBeUndefined();
    await session.close();
  });
});

describe("headerRecord refuses what new Headers refuses", () => {
  const cases: [string, () => unknown][] = [
    ["a symbol-keyed field", () => ({ [Symbol("s")]: "1", a: "2" })],
    ["a symbol value", () => ({ a: Symbol("s") })],
    ["a list of two-character strings", () => ["ab"]],
    ["a string", () => ""],
    ["a number", () => 5],
  ];
  for (const [label, make] of cases)
    it(label, () => {
      const init = make() as HeadersInit;
      const expected = outcome(() => [...new Headers(init)]);
      expect(expected).toEqual({ error: "TypeError" });
      expect(outcome(() => headerRecord(init))).toEqual(expected);
    });

  it("through session.fetch: a list of strings is a TypeError, nothing sent", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    const error = await session
      .fetch(serverUrl, { headers: ["ab"] as unknown as HeadersInit })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(seen[0]?.headers.a).toBeUndefined();
    expect(error).toBeInstanceOf(TypeError);
    await session.close();
  });
});

describe("repeated names", () => {
  it("joined with ', ' in every case form, as Headers.append joins them", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    const pairs: [string, string][] = [
      ["Accept", "a"],
      ["ACCEPT", "b"],
      ["accept", " c "],
      ["Authorization", "x"],
      ["authorization", "y"],
    ];
    await session.fetch(serverUrl, { headers: pairs });
    expect(seen[0]?.headers.accept).toBe("a, b, c");
    expect(seen[0]?.headers.authorization).toBe("Bearer tok-1");
    expect(wire(seen[0]?.raw)).toEqual(viaHeaders(pairs));
    await session.close();
  });

  it("set-cookie from a Headers is joined like any other name (a request carries none anyway)", async () => {
    const h = new Headers();
    h.append("set-cookie", "a=1");
    h.append("set-cookie", "b=2");
    expect(headerRecord(h)).toEqual({ "set-cookie": "a=1, b=2" });
  });
});
