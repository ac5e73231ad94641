// HTTP-level behaviour around the WSGI call: connections, protocol versions, headers both ways,
// clients that go away, shutdown.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { fixture, get, getJson, rawRequest, start, type RunningServer } from "./helpers/server.ts";

const app = fixture("http.wsgi");

/** The JSON body of a raw HTTP response. */
const jsonBody = (raw: string) => JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4));

/** Sends requests one after another on one keep-alive connection, each after the previous response. */
function sequential(port: number, requests: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const responses: string[] = [];
    let buffer = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(requests[0]!));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`keep-alive: got ${responses.length} of ${requests.length} responses`));
    }, 10_000);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const headEnd = buffer.indexOf("\r\n\r\n");
        if (headEnd < 0) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffer.slice(0, headEnd))?.[1] ?? NaN);
        if (Number.isNaN(length) || buffer.length < headEnd + 4 + length) return;
        responses.push(buffer.slice(0, headEnd + 4 + length));
        buffer = buffer.slice(headEnd + 4 + length);
        if (responses.length === requests.length) {
          clearTimeout(timer);
          socket.destroy();
          return resolve(responses);
        }
        socket.write(requests[responses.length]!);
      }
    });
    socket.on("error", reject);
  });
}

describe("HTTP", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      args: ["--threads", "2", "--alias", `/app=${app}`, "--alias", `/auth=${app},pass-authorization=on`],
    });
  });
  afterAll(() => server?.stop());

  test("several requests on one keep-alive connection, same REMOTE_PORT", async () => {
    const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const responses = await sequential(server.port, [request("/app/1"), request("/app/2"), request("/app/3")]);
    expect(responses.map((r) => r.split("\r\n")[0])).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
    const envs = responses.map(jsonBody);
    expect(envs.map((e) => e.PATH_INFO)).toEqual(["/1", "/2", "/3"]);
    expect(new Set(envs.map((e) => e.REMOTE_PORT)).size).toBe(1);
  });

  test("an HTTP/1.0 request without Host is routed and served", async () => {
    const raw = (await rawRequest(server.port, "GET /app/nohost?q=1 HTTP/1.0\r\n\r\n")).toString("latin1");
    expect(raw).toMatch(/^HTTP\/1\.[01] 200 /);
    const env = jsonBody(raw);
    expect(env.SCRIPT_NAME).toBe("/app");
    expect(env.PATH_INFO).toBe("/nohost");
    expect(env.QUERY_STRING).toBe("q=1");
  });

  test("two Set-Cookie headers from the app arrive as two headers", async () => {
    const response = await fetch(`${server.url}/app/cookies`);
    expect(await response.text()).toBe("two cookies");
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
  });

  test("a non-ASCII path reaches PATH_INFO as latin-1 characters of its UTF-8 bytes (PEP 3333)", async () => {
    const env = await getJson(`${server.url}/app/caf%C3%A9`);
    expect(env.PATH_INFO).toBe("/caf\u00c3\u00a9");
    expect(env.REQUEST_URI).toBe("/app/caf%C3%A9");
  });

  test("Authorization is withheld unless pass-authorization=on; headers with '_' are dropped", async () => {
    const headers = { Authorization: "Basic dXNlcjpwYXNz", "X-Dash": "dash", X_Under: "under" };
    const plain = await getJson(`${server.url}/app`, { headers });
    expect(plain.HTTP_AUTHORIZATION).toBeUndefined();
    expect(plain.HTTP_X_DASH).toBe("dash");
    expect(plain.HTTP_X_UNDER).toBeUndefined(); // X_Under must not pose as X-Under
    const passed = await getJson(`${server.url}/auth`, { headers });
    expect(passed.HTTP_AUTHORIZATION).toBe("Basic dXNlcjpwYXNz");
  });
});

describe("a client that goes away during a streamed response (--threads 1)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--threads", "1", "--log-level", "info", "--alias", `/app=${app}`] });
  });
  afterAll(() => server?.stop());

  test("frees the worker and close() is called", async () => {
    // Read a few chunks of the 5-second stream, then hang up.
    await new Promise<void>((resolve, reject) => {
      let got = 0;
      const socket = connect(server.port, "127.0.0.1", () => socket.write("GET /app/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
      socket.on("data", (chunk) => {
        got += chunk.length;
        if (got > 3000) {
          socket.destroy();
          resolve();
        }
      });
      socket.on("error", reject);
    });
    // The only worker must come back well before the app would have finished on its own (5 s),
    // and the app's close() must have run.
    const started = performance.now();
    let closed = 0;
    while (closed === 0 && performance.now() - started < 3000) {
      const r = await get(`${server.url}/app/closed`, { signal: AbortSignal.timeout(4000) });
      closed = JSON.parse(r.text).slow;
      if (!closed) await Bun.sleep(100);
    }
    expect(closed).toBe(1);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(await getJson(`${server.url}/app/still`)).toMatchObject({ PATH_INFO: "/still" });
  });
});

describe("shutdown", () => {
  test("SIGTERM stops the server with exit code 0 and a log line", async () => {
    const server = await start({ args: ["--alias", `/app=${app}`] });
    expect((await get(`${server.url}/app`)).status).toBe(200);
    const code = await server.stop();
    expect(code).toBe(0);
    expect(server.log()).toContain("Caught SIGTERM, shutting down");
  });
});
