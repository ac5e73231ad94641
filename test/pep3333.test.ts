// PEP 3333 corners not covered elsewhere: the whole wsgi.input API, start_response with exc_info
// before and after output, and headers mod_wsgi keeps from the app.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixture, type RunningServer, start } from "./helpers/server.ts";
import { request, WireClient } from "./helpers/wire-client.ts";

let server: RunningServer;
beforeAll(async () => {
  server = await start({ args: ["--alias", `/p=${fixture("pep3333.wsgi")}`] });
});
afterAll(() => server?.stop());

const post = (path: string, body: string) => fetch(`${server.url}${path}`, { method: "POST", body });

describe("wsgi.input", () => {
  test("readline(n), readline(), readlines(); every read past the end is b''", async () => {
    const response = await post("/p/input", "first line\nsecond\nthird\nfourth");
    expect(await response.json()).toEqual({
      "readline(4)": "firs",
      "readline()": "t line\n",
      "readlines()": ["second\n", "third\n", "fourth"],
      "read() at the end": "",
      "read(10) at the end": "",
      "readline() at the end": "",
    });
  });

  test("read(-1) and read(None) read everything", async () => {
    expect(await (await post("/p/read-minus-one", "all of it")).text()).toBe("all of it");
    expect(await (await post("/p/read-none", "all of it too")).text()).toBe("all of it too");
  });
});

describe("the request's I/O from another thread", () => {
  test("wsgi.input read from a thread the app started raises RuntimeError instead of hanging", async () => {
    const response = await post("/p/input-from-thread", "some body");
    expect(await response.text()).toBe("RuntimeError: wsgi.input and write() belong to the request's own thread");
  });

  test("write() from such a thread once the head is out (a streamed piece) raises too, instead of hanging", async () => {
    const response = await fetch(`${server.url}/p/write-from-thread`);
    expect(await response.text()).toBe("head-out;RuntimeError: wsgi.input and write() belong to the request's own thread");
  });
});

describe("start_response with exc_info", () => {
  test("before any output it replaces status and headers", async () => {
    const response = await fetch(`${server.url}/p/exc-info-before`);
    expect(response.status).toBe(500);
    expect(response.headers.get("x-replaced")).toBe("1");
    expect(response.headers.get("x-first")).toBeNull();
    expect(await response.text()).toBe("replaced");
  });

  test("after output it re-raises: the body is cut and the error logged", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/p/exc-info-after"));
    const response = await client.response();
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe("first part");
    expect(response.incomplete).toBe(true);
    client.close();
    await server.waitForLog(/ValueError: too late/);
  });
});

describe("an iterable whose first chunk is its whole Content-Length (sent with the head in one message)", () => {
  const state = async () => (await fetch(`${server.url}/p/declared-state`)).json();

  test("nothing follows: the response is whole, the code after the last yield runs, close() once", async () => {
    const before = await state();
    const client = new WireClient(server.port);
    await client.send(request("/p/declared?end"));
    const response = await client.response();
    expect([response.status, response.body.toString(), response.framing, response.incomplete]).toEqual([200, "12345", "length", false]);
    expect(await client.closed(300)).toBe(false); // kept alive
    client.close();
    expect(await state()).toEqual({ after_last_yield: before.after_last_yield + 1, closed: before.closed + 1 });
  });

  test("more bytes follow: the declared five are sent and the rest is not, logged, as for any iterable", async () => {
    const before = await state();
    const from = server.log().length;
    const client = new WireClient(server.port);
    await client.send(request("/p/declared?extra"));
    const response = await client.response();
    expect([response.status, response.body.toString(), response.incomplete]).toEqual([200, "12345", false]);
    await server.waitForLog(/returned more than its Content-Length of 5 bytes: the rest was not sent/, 5_000, from);
    client.close();
    expect((await state()).closed).toBe(before.closed + 1);
  });

  test("an exception after the body: the body still goes out whole, the error is logged", async () => {
    const from = server.log().length;
    const client = new WireClient(server.port);
    await client.send(request("/p/declared?raise"));
    const response = await client.response();
    expect([response.status, response.body.toString(), response.incomplete]).toEqual([200, "12345", false]);
    client.close();
    await server.waitForLog(/ValueError: raised after the whole body/, 5_000, from);
  });

  test("start_response with exc_info after the chunk was yielded re-raises (PEP 3333): the 200 and its body go out, the error is logged", async () => {
    const from = server.log().length;
    const client = new WireClient(server.port);
    await client.send(request("/p/declared?exc-info"));
    const response = await client.response();
    expect([response.status, response.body.toString(), response.header("x-late")]).toEqual([200, "12345", undefined]);
    client.close();
    await server.waitForLog(/ValueError: an error after the first chunk/, 5_000, from);
  });

  test("a write() after the chunk was yielded sends it first: the response is whole", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/p/declared?write"));
    const response = await client.response();
    expect([response.status, response.body.toString(), response.incomplete]).toEqual([200, "12345", false]);
    expect(await client.closed(300)).toBe(false);
    client.close();
  });

  test("a chunk that is not bytes after the body (None is no end): a TypeError, logged", async () => {
    const from = server.log().length;
    const client = new WireClient(server.port);
    await client.send(request("/p/declared?none"));
    const response = await client.response();
    expect([response.status, response.body.toString()]).toEqual([200, "12345"]);
    client.close();
    await server.waitForLog(/TypeError: a WSGI body chunk must be bytes, not NoneType/, 5_000, from);
  });
});

describe("request headers mod_wsgi keeps from the app", () => {
  test("Proxy (httpoxy) never becomes HTTP_PROXY", async () => {
    const environ = await (await fetch(`${server.url}/p/environ`, { headers: { Proxy: "http://evil.example:3128" } })).json();
    expect(environ.HTTP_PROXY).toBeUndefined();
  });
});
