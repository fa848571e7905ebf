/**
 * A minimal resource server for the overhead runs, in its own process so that its CPU is not
 * counted against the client being measured: 200 for `Authorization: Bearer <token>`, else 401.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const expected = `Bearer ${process.argv[2] ?? ""}`;
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.headers.authorization === expected) {
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    } else {
      res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"' }).end();
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on("disconnect", () => server.close(() => process.exit(0)));
