// Minimal @tus/server + @tus/file-store peer for bench/uploads/run.py.
// Usage: node tus-node-server.mjs --port PORT --dir DATA_DIR [--host 127.0.0.1]
// tus endpoint: /files (creation via POST, data via PATCH); GET /healthz -> 200.
import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    dir: { type: "string" },
  },
});
if (!values.port || !values.dir) {
  console.error("usage: node tus-node-server.mjs --port PORT --dir DATA_DIR [--host HOST]");
  process.exit(2);
}

const tus = new Server({
  path: "/files",
  datastore: new FileStore({ directory: values.dir }),
});

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    return;
  }
  tus.handle(req, res);
});
// Node's default request timeout (300 s) could cut a slow multi-GiB PATCH; the
// benchmark bounds its own run time instead.
server.requestTimeout = 0;
server.listen(Number(values.port), values.host, () => {
  console.log(`tus-node-server listening on http://${values.host}:${values.port}/files -> ${values.dir}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => process.exit(0));
}
