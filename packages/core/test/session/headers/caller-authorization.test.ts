/**
 * A caller's own Authorization / DPoP / User-Agent headers, in every case and HeadersInit form:
 * the session's credentials replace them on the protected origin, nothing leaks to another origin.
 */
import { describe, expect, it } from "vitest";
import { redirect, seeded, serverUrl } from "../restored-support.js";

const forms = (
  entries: [string, string][],
): [string, () => [RequestInfo | URL, RequestInit?]][] => [
  ["record", () => [serverUrl, { headers: Object.fromEntries(entries) }]],
  ["pairs", () => [serverUrl, { headers: entries.map(([k, v]) => [k, v] as [string, string]) }]],
  ["Headers", () => [serverUrl, { headers: new Headers(entries) }]],
  ["Map", () => [serverUrl, { headers: new Map(entries) as unknown as HeadersInit }]],
  ["URL + record", () => [new URL(serverUrl), { headers: Object.fromEntries(entries) }]],
  ["Request", () => [new Request(serverUrl, { headers: entries })]],
  [
    "Request + init.headers",
    () => [new Request(serverUrl, { headers: [["x-orig", "1"]] }), { headers: entries }],
  ],
  [
    "POST Request body",
    () => [new Request(serverUrl, { method: "POST", body: "b", headers: entries })],
  ],
];

const authNames = ["Authorization", "authorization", "AUTHORIZATION", "aUtHoRiZaTiOn"];

const ownCaseInsensitive = (keys: string[], name: string) =>
  keys.filter((k) => k.toLowerCase() === name);

describe("caller's Authorization/DPoP on the protected origin (with a token)", () => {
  for (const name of authNames)
    for (const [form, args] of forms([
      [name, "Basic Y2FsbGVyOnNlY3JldA=="],
      ["DPoP", "caller-proof"],
      ["X-Keep", "k"],
    ]))
      it(`${name} as ${form}: replaced by the bearer, caller DPoP dropped`, async () => {
        const { session, seen } = await seeded(() => new Response("ok"));
        const [input, init] = args();
        const r = await session.fetch(input as string, init);
        expect(r.status).toBe(200);
        expect(seen).toHaveLength(1);
        const s = seen[0] as (typeof seen)[number];
        expect(s.headers.authorization).toBe("Bearer tok-1");
        expect(s.headers.dpop).toBeUndefined();
        expect(s.headers["x-keep"]).toBe("k");
        // exactly one authorization field in what fetch is handed
        expect(ownCaseInsensitive(s.rawKeys, "authorization")).toEqual(["authorization"]);
        expect(ownCaseInsensitive(s.rawKeys, "dpop")).toEqual([]);
        await session.close();
      });
});

describe("redirect protected → other → back (with a token), caller's headers in every form", () => {
  for (const [form, args] of forms([
    ["AUTHORIZATION", "Basic caller"],
    ["dpop", "caller-proof"],
    ["Content-Type", "text/plain"],
  ]))
    it(`${form}: bearer only on the protected origin; nothing of the caller's credentials elsewhere`, async () => {
      const { session, seen } = await seeded((url) => {
        if (url === serverUrl) return redirect(307, "https://other.example/a");
        if (url === "https://other.example/a") return redirect(303, "http://127.0.0.1:9/back");
        if (url === "http://127.0.0.1:9/back") return redirect(302, "http://127.0.0.1:9/final");
        if (url === "http://127.0.0.1:9/final") return new Response("ok");
        return new Response("?", { status: 404 });
      });
      const [input, init] = args();
      const r = await session.fetch(input as string, init);
      expect(r.status).toBe(200);
      expect(seen.map((s) => [s.url, s.headers.authorization, s.headers.dpop])).toEqual([
        [serverUrl, "Bearer tok-1", undefined],
        ["https://other.example/a", undefined, undefined],
        ["http://127.0.0.1:9/back", "Bearer tok-1", undefined],
        ["http://127.0.0.1:9/final", "Bearer tok-1", undefined],
      ]);
      expect(seen[2]?.method).toBe("GET");
      await session.close();
    });
});

describe("no token: the caller's own Authorization", () => {
  it("goes to the protected origin, never to another origin, and does not come back", async () => {
    const { session, seen } = await seeded(
      (url) => {
        if (url === serverUrl) return redirect(307, "https://other.example/a");
        if (url === "https://other.example/a") return redirect(307, "http://127.0.0.1:9/back");
        return new Response("ok");
      },
      { noToken: true },
    );
    for (const headers of [
      { AUTHORIZATION: "Basic caller" },
      new Headers({ Authorization: "Basic caller" }),
      [["aUthorization", "Basic caller"]] as [string, string][],
    ]) {
      seen.length = 0;
      const r = await session.fetch(serverUrl, { headers });
      expect(r.status).toBe(200);
      expect(seen.map((s) => [s.url, s.headers.authorization])).toEqual([
        [serverUrl, "Basic caller"],
        ["https://other.example/a", undefined],
        ["http://127.0.0.1:9/back", undefined],
      ]);
    }
    await session.close();
  });

  it("same-origin redirect keeps it", async () => {
    const { session, seen } = await seeded(
      (url) => (url === serverUrl ? redirect(308, "/other-path") : new Response("ok")),
      { noToken: true },
    );
    await session.fetch(serverUrl, { headers: { Authorization: "Basic caller" } });
    expect(seen.map((s) => s.headers.authorization)).toEqual(["Basic caller", "Basic caller"]);
    await session.close();
  });
});

describe("User-Agent", () => {
  for (const name of ["user-agent", "User-Agent", "USER-AGENT"])
    for (const [form, args] of forms([[name, "mine/1"]]))
      it(`${name} as ${form}: the caller's wins`, async () => {
        const { session, seen } = await seeded(() => new Response("ok"));
        const [input, init] = args();
        await session.fetch(input as string, init);
        expect(seen[0]?.headers["user-agent"]).toBe("mine/1");
        expect(ownCaseInsensitive(seen[0]?.rawKeys ?? [], "user-agent")).toEqual(["user-agent"]);
        await session.close();
      });

  it("an empty caller User-Agent is kept (as Headers.has would see it)", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    await session.fetch(serverUrl, { headers: { "User-Agent": "" } });
    expect(seen[0]?.headers["user-agent"]).toBe("");
    await session.close();
  });

  it("none given: the session's default is set", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    await session.fetch(serverUrl);
    expect(seen[0]?.headers["user-agent"]).toMatch(/\S/);
    await session.close();
  });
});

describe("the caller's headers are never changed, and each request gets its own copy", () => {
  it("record, pairs and Headers untouched after a redirect chain; concurrent requests independent", async () => {
    const { session, seen } = await seeded((url) =>
      url === serverUrl ? redirect(307, "https://other.example/a") : new Response("ok"),
    );
    const record = { Accept: "a", Authorization: "Basic c" };
    const pairs: [string, string][] = [["Accept", "a"]];
    const headers = new Headers({ accept: "a" });
    await Promise.all([
      session.fetch(serverUrl, { headers: record }),
      session.fetch(serverUrl, { headers: pairs }),
      session.fetch(serverUrl, { headers }),
    ]);
    expect(record).toEqual({ Accept: "a", Authorization: "Basic c" });
    expect(pairs).toEqual([["Accept", "a"]]);
    expect([...headers]).toEqual([["accept", "a"]]);
    // every init.headers object handed to fetch is distinct per request
    const onProtected = seen.filter((s) => s.url === serverUrl).map((s) => s.raw);
    expect(new Set(onProtected).size).toBe(3);
    for (const s of seen.filter((s) => s.url !== serverUrl)) {
      expect(s.headers.authorization).toBeUndefined();
    }
    await session.close();
  });
});
