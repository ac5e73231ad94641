// An existing Hono app (its own routes, its own server) that mounts Python WSGI apps under /py through
// wsgi-bin's fetch(): the request goes from Hono's handler to Python and back inside this process;
// wsgi-bin opens no socket of its own.
//
//   npm run build && bun examples/embed/hono-mount.ts
import { Hono } from "hono";
import { join } from "node:path";
import { createServer } from "wsgi-bin";

const python = createServer({
  // The aliases carry the mount point: SCRIPT_NAME is /py/..., as the apps' own URLs must say.
  aliases: {
    "/py/hello": join(import.meta.dir, "../hello.wsgi"),
    "/py/environ": join(import.meta.dir, "../environ.wsgi"),
  },
  threads: 2,
});

const app = new Hono();
app.get("/", (c) => c.text("The host app's own page."));
app.get("/api/time", (c) => c.json({ now: new Date().toISOString() }));
// Everything under /py: wsgi-bin answers (404 for what no alias covers, as mod_wsgi would).
app.all("/py/*", (c) => python.fetch(c.req.raw, { remoteAddress: c.req.header("x-forwarded-for") ?? "127.0.0.1" }));

await python.ready;
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
console.log(`Hono app listening at ${server.url}`);

for (const path of ["", "api/time", "py/hello", "py/environ/some/path?x=1", "py/missing"]) {
  const response = await fetch(new URL(path, server.url));
  const body = await response.text();
  const shown = path.startsWith("py/environ")
    ? JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(body)).filter(([key]) => ["SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_SOFTWARE"].includes(key))))
    : body.split("\n")[0];
  console.log(`GET /${path} -> ${response.status} ${shown}`);
}

await server.stop();
await python.close();
console.log("closed");
