/** Over real sockets with Node's own fetch: what actually reaches each origin. */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransportError } from "../../../src/errors.js";
import { seeded } from "../restored-support.js";

interface Got {
  server: "a" | "b";
  path: string;
  method: string;
  raw: string[];
}
const got: Got[] = [];
let a: Server;
let b: Server;
let aUrl = "";
let bUrl = "";

const listen = (
  name: "a" | "b",
  handle: (req: IncomingMessage) => [number, Record<string, string>],
) => {
  const server = createServer((req, res) => {
    got.push({ server: name, path: req.url ?? "", method: req.method ?? "", raw: req.rawHeaders });
    req.resume();
    req.on("end", () => {
      const [status, headers] = handle(req);
      res.writeHead(status, headers).end("ok");
    });
  });
  return new Promise<Server>((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
};
const named = (raw: string[], name: string) =>
  raw.flatMap((v, i) => (i % 2 === 0 && v.toLowerCase() === name ? [raw[i + 1]] : []));

beforeAll(async () => {
  a = await listen("a", (req) => {
    if (req.url === "/mcp-redirect") return [307, { location: `${bUrl}/hop` }];
    return [200, {}];
  });
  aUrl = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
  b = await listen("b", (req) =>
    req.url === "/hop" ? [303, { location: `${aUrl}/back` }] : [200, {}],
  );
  bUrl = `http://127.0.0.1:${(b.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => a.close(r));
  await new Promise((r) => b.close(r));
});

describe("on the wire (Node fetch)", () => {
  it("one Authorization (the bearer), the caller's User-Agent, prototype-member names sent", async () => {
    got.length = 0;
    const { session } = await seeded(() => new Response("unused"), {
      url: `${aUrl}/mcp`,
      fetch: (i, init) => globalThis.fetch(i, init),
    });
    const r = await session.fetch(`${aUrl}/mcp`, {
      headers: [
        ["AUTHORIZATION", "Basic caller"],
        ["authorization", "Basic caller2"],
        ["User-AGENT", "mine/1"],
        ["constructor", "c"],
        ["toString", "t"],
        ["X-Rep", "1"],
        ["x-rep", "2"],
      ],
    });
    expect(r.status).toBe(200);
    const raw = got[0]?.raw ?? [];
    expect(named(raw, "authorization")).toEqual(["Bearer tok-1"]);
    expect(named(raw, "user-agent")).toEqual(["mine/1"]);
    expect(named(raw, "constructor")).toEqual(["c"]);
    expect(named(raw, "tostring")).toEqual(["t"]);
    expect(named(raw, "x-rep")).toEqual(["1, 2"]);
    await session.close();
  });

  it("redirect a → b → a (303): the bearer only at a; the caller's Authorization not at b", async () => {
    got.length = 0;
    const { session } = await seeded(() => new Response("unused"), {
      url: `${aUrl}/mcp-redirect`,
      fetch: (i, init) => globalThis.fetch(i, init),
    });
    const r = await session.fetch(`${aUrl}/mcp-redirect`, {
      method: "POST",
      body: "x",
      headers: { Authorization: "Basic caller", DPoP: "caller" },
    });
    expect(r.status).toBe(200);
    expect(
      got.map((g) => [
        g.server,
        g.path,
        g.method,
        named(g.raw, "authorization"),
        named(g.raw, "dpop"),
      ]),
    ).toEqual([
      ["a", "/mcp-redirect", "POST", ["Bearer tok-1"], []],
      ["b", "/hop", "POST", [], []],
      ["a", "/back", "GET", ["Bearer tok-1"], []],
    ]);
    await session.close();
  });

  it("no token: the caller's Authorization reaches a, not b, not back at a", async () => {
    got.length = 0;
    const { session } = await seeded(() => new Response("unused"), {
      url: `${aUrl}/mcp-redirect`,
      noToken: true,
      fetch: (i, init) => globalThis.fetch(i, init),
    });
    await session.fetch(`${aUrl}/mcp-redirect`, { headers: { AUTHORIZATION: "Basic caller" } });
    expect(got.map((g) => [g.server, named(g.raw, "authorization")])).toEqual([
      ["a", ["Basic caller"]],
      ["b", []],
      ["a", []],
    ]);
    await session.close();
  });

  it("a control character in the token (passes Headers, refused by undici): a TransportError without token text", async () => {
    got.length = 0;
    const { session } = await seeded(() => new Response("unused"), {
      url: `${aUrl}/mcp`,
      token: "SECRETzq\x01x",
      fetch: (i, init) => globalThis.fetch(i, init),
    });
    const error = await session.fetch(`${aUrl}/mcp`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransportError);
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain("SECRETzq");
    expect(got).toHaveLength(0);
    await session.close();
  });
});
