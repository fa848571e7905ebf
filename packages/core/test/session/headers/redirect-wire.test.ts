/**
 * The session follows redirects by hand (to keep the token on its origin); what it does to the
 * request on each hop is what Node's own fetch does (Fetch standard, HTTP-redirect fetch): on a
 * hop to another origin no Cookie or Proxy-Authorization, on a switch to GET no body headers.
 * Compared over sockets, with Node's fetch as the reference.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seeded } from "../restored-support.js";

const got: { server: string; raw: string[] }[] = [];
let a: Server;
let b: Server;
let aUrl = "";
let bUrl = "";
const start = (name: string, reply: (path: string) => [number, Record<string, string>]) =>
  new Promise<Server>((resolve) => {
    const s = createServer((req, res) => {
      got.push({ server: name, raw: req.rawHeaders });
      const [status, headers] = reply(req.url ?? "");
      res.writeHead(status, headers).end();
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
const named = (raw: string[], name: string) =>
  raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name ? [raw[i + 1]] : []));

beforeAll(async () => {
  a = await start("a", (path) =>
    path === "/see-other"
      ? [303, { location: `${aUrl}/after` }]
      : path === "/after"
        ? [200, {}]
        : [307, { location: `${bUrl}/x` }],
  );
  aUrl = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
  b = await start("b", () => [200, {}]);
  bUrl = `http://127.0.0.1:${(b.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => a.close(r));
  await new Promise((r) => b.close(r));
});

describe("caller credentials on a cross-origin redirect", () => {
  const headers = { Cookie: "sid=SECRETzq", "Proxy-Authorization": "Basic SECRETzq" };

  it("Node's own fetch drops them at the other origin (the reference)", async () => {
    got.length = 0;
    await fetch(`${aUrl}/mcp`, { headers });
    const atB = got.find((g) => g.server === "b") as (typeof got)[number];
    expect(named(atB.raw, "cookie")).toEqual([]);
    expect(named(atB.raw, "proxy-authorization")).toEqual([]);
  });

  it("session.fetch drops them at the other origin too", async () => {
    got.length = 0;
    const { session } = await seeded(() => new Response("unused"), {
      url: `${aUrl}/mcp`,
      fetch: (i, init) => globalThis.fetch(i, init),
    });
    await session.fetch(`${aUrl}/mcp`, { headers });
    const atB = got.find((g) => g.server === "b") as (typeof got)[number];
    expect(named(atB.raw, "authorization")).toEqual([]);
    expect(named(atB.raw, "cookie")).toEqual([]);
    expect(named(atB.raw, "proxy-authorization")).toEqual([]);
    await session.close();
  });
});

describe("a POST answered 303", () => {
  const init = {
    method: "POST",
    body: "{}",
    headers: { "content-type": "application/json", "content-language": "en", "x-kept": "1" },
  };
  const afterHop = () =>
    got.find(
      (g) => g.server === "a" && g.raw.length > 0 && got.indexOf(g) > 0,
    ) as (typeof got)[number];

  it("goes on as a GET without a body or body headers, other headers kept — as Node's fetch does", async () => {
    got.length = 0;
    await fetch(`${aUrl}/see-other`, init);
    const reference = afterHop();
    got.length = 0;
    const { session } = await seeded(() => new Response("unused"), {
      url: `${aUrl}/mcp`,
      fetch: (i, init) => globalThis.fetch(i, init),
    });
    await session.fetch(`${aUrl}/see-other`, init);
    const hop = afterHop();
    for (const raw of [reference.raw, hop.raw]) {
      expect(named(raw, "content-type")).toEqual([]);
      expect(named(raw, "content-language")).toEqual([]);
      expect(named(raw, "content-length")).toEqual([]);
      expect(named(raw, "x-kept")).toEqual(["1"]);
    }
    // The token stays with its origin: the same origin here.
    expect(named(hop.raw, "authorization")).toHaveLength(1);
    await session.close();
  });
});
