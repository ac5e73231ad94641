// The WSGI call itself: environ, wsgi.input, close(), streaming, write(), app exceptions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { fixture, get, getJson, rawRequest, start, type RunningServer } from "./helpers/server.ts";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

describe("the WSGI call (--threads 8)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      args: [
        "--threads", "8",
        "--server-name", "wsgi.test",
        "--alias", `/env=${fixture("environ.wsgi")}`,
        "--alias", `/body=${fixture("body.wsgi")}`,
        "--alias", `/close=${fixture("close.wsgi")}`,
        "--alias", `/stream=${fixture("stream.wsgi")}`,
        "--alias", `/write=${fixture("write.wsgi")}`,
        "--alias", `/raises=${fixture("raises.wsgi")}`,
        "--alias", `/hello=${fixture("hello.wsgi")}`,
      ],
    });
  });
  afterAll(() => server?.stop());

  test("environ has the CGI variables", async () => {
    const env = await getJson(`${server.url}/env/p/q?a=1&b=two`, {
      headers: { "X-Custom-Header": "custom value", "User-Agent": "wsgi-bin-tests/1.0", Accept: "text/plain" },
    });
    expect(env.REQUEST_METHOD).toBe("GET");
    expect(env.SCRIPT_NAME).toBe("/env");
    expect(env.PATH_INFO).toBe("/p/q");
    expect(env.QUERY_STRING).toBe("a=1&b=two");
    expect(env.REQUEST_URI).toBe("/env/p/q?a=1&b=two");
    expect(env.SERVER_NAME).toBe("127.0.0.1"); // from the Host header, as Apache with UseCanonicalName Off
    expect(env.SERVER_PORT).toBe(String(server.port));
    expect(env.SERVER_PROTOCOL).toBe("HTTP/1.1");
    expect(env.REMOTE_ADDR).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(env.REMOTE_PORT).toMatch(/^\d+$/);
    expect(Number(env.REMOTE_PORT)).toBeGreaterThan(0);
    expect(Number(env.REMOTE_PORT)).not.toBe(server.port);
    expect(env.HTTP_X_CUSTOM_HEADER).toBe("custom value");
    expect(env.HTTP_USER_AGENT).toBe("wsgi-bin-tests/1.0");
    expect(env.HTTP_ACCEPT).toBe("text/plain");
    expect(env.HTTP_HOST).toBe(`127.0.0.1:${server.port}`);
    expect(env.SCRIPT_FILENAME).toBe(fixture("environ.wsgi"));
    expect(env.GATEWAY_INTERFACE).toBe("CGI/1.1");
    expect(env.SERVER_SOFTWARE).toMatch(/^wsgi-bin\//);
  });

  test("QUERY_STRING is an empty string when there is none; GET has no content type or length", async () => {
    const env = await getJson(`${server.url}/env`);
    expect(env.QUERY_STRING).toBe("");
    expect(["", undefined]).toContain(env.CONTENT_LENGTH);
    expect(["", undefined]).toContain(env.CONTENT_TYPE);
  });

  test("environ has the wsgi.* and mod_wsgi.* keys", async () => {
    const env = await getJson(`${server.url}/env`);
    expect(env["wsgi.version"]).toEqual([1, 0]);
    expect(env["wsgi.url_scheme"]).toBe("http");
    expect(env["wsgi.multithread"]).toBe(true);
    expect(env["wsgi.multiprocess"]).toBe(false);
    expect(env["wsgi.run_once"]).toBe(false);
    expect(env["wsgi.input"]).toMatch(/^<.+>$/);
    expect(env["wsgi.errors"]).toMatch(/^<.+>$/);
    expect(env["mod_wsgi.application_group"]).toBe(`wsgi.test:${server.port}|/env`);
    expect(env["mod_wsgi.process_group"]).toBe("");
    expect(env["mod_wsgi.callable_object"]).toBe("application");
    expect(env["mod_wsgi.script_reloading"]).toBe("1");
  });

  test("wsgi.version is a tuple (1, 0) inside Python", async () => {
    // JSON turns tuples into lists; the fixture would have turned anything else into "<type>".
    const env = await getJson(`${server.url}/env`);
    expect(Array.isArray(env["wsgi.version"])).toBe(true);
  });

  test("a POST has CONTENT_TYPE, CONTENT_LENGTH and its body in wsgi.input (read())", async () => {
    const body = "name=value&other=thing";
    const r = await getJson(`${server.url}/body/read`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
    expect(r.CONTENT_TYPE).toBe("application/x-www-form-urlencoded");
    expect(r.CONTENT_LENGTH).toBe(String(body.length));
    expect(r.length).toBe(body.length);
    expect(r.sha256).toBe(sha256(Buffer.from(body)));
  });

  test("the method reaches REQUEST_METHOD", async () => {
    for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const env = await getJson(`${server.url}/env`, { method });
      expect(env.REQUEST_METHOD).toBe(method);
    }
  });

  test("read(n) returns pieces of n bytes", async () => {
    const data = randomBytes(100_000);
    const r = await getJson(`${server.url}/body/readn?1000`, { method: "POST", body: data });
    expect(r.length).toBe(100_000);
    expect(r.count).toBe(100);
    expect(r.sizes).toEqual([1000]);
    expect(r.sha256).toBe(sha256(data));
  });

  test("readline() and iteration split the body into lines", async () => {
    const body = "first line\nsecond\n\nlast, no newline";
    const expected = ["first line\n", "second\n", "\n", "last, no newline"];
    expect((await getJson(`${server.url}/body/readline`, { method: "POST", body })).lines).toEqual(expected);
    expect((await getJson(`${server.url}/body/iterate`, { method: "POST", body })).lines).toEqual(expected);
  });

  test("a 5 MiB body is echoed back intact", async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const response = await fetch(`${server.url}/body/echo`, { method: "POST", body: data });
    expect(response.status).toBe(200);
    const echoed = new Uint8Array(await response.arrayBuffer());
    expect(echoed.length).toBe(data.length);
    expect(response.headers.get("x-body-length")).toBe(String(data.length));
    expect(response.headers.get("x-body-sha256")).toBe(sha256(data));
    expect(sha256(echoed)).toBe(sha256(data));
  });

  test("a chunked request body (no Content-Length) reaches wsgi.input", async () => {
    const parts = ["hello ", "chunked ", "world"];
    const chunked = parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join("") + "0\r\n\r\n";
    const response = await rawRequest(
      server.port,
      `POST /body/read HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`,
    );
    const text = response.toString("latin1");
    expect(text).toStartWith("HTTP/1.1 200");
    const json = JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1));
    expect(json.length).toBe(parts.join("").length);
    expect(json.sha256).toBe(sha256(Buffer.from(parts.join(""))));
  });

  test("close() on the returned iterable is called after a normal response", async () => {
    const before = await getJson(`${server.url}/close/count`);
    const r = await get(`${server.url}/close/run`);
    expect(r.text).toBe("part one;part two");
    await get(`${server.url}/close/run`);
    const after = await getJson(`${server.url}/close/count`);
    expect(after.run).toBe(before.run + 2);
  });

  test("close() is called even when iterating the result raises", async () => {
    const before = await getJson(`${server.url}/close/count`);
    const response = await fetch(`${server.url}/close/fail`);
    // The head was already sent: the body must come out truncated (an error), never as a clean end.
    let completed = false;
    try {
      await response.text();
      completed = true;
    } catch {}
    expect(completed).toBe(false);
    const after = await getJson(`${server.url}/close/count`);
    expect(after.fail).toBe(before.fail + 1);
    await server.waitForLog(/ValueError: iteration failed on purpose/);
  });

  test("a generator response streams: chunks arrive as they are produced", async () => {
    const started = performance.now();
    const response = await fetch(`${server.url}/stream`);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const arrivals: number[] = [];
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(performance.now() - started);
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
    // The app takes 1.2 s (4 sleeps of 0.3 s): the first chunk must arrive long before the last.
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    expect(arrivals[arrivals.length - 1]! - arrivals[0]!).toBeGreaterThan(800);
  });

  test("the write() callable works, followed by the returned iterable", async () => {
    expect(await get(`${server.url}/write`)).toMatchObject({ status: 200, text: "written by write() and returned" });
  });

  test("an exception in the app gives 500 and a traceback in the log; the server keeps serving", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await get(`${server.url}/raises`);
      expect(r.status).toBe(500);
      expect(r.text).toContain("Internal Server Error");
      expect(r.text).not.toContain("boom");
    }
    const log = await server.waitForLog(/RuntimeError: boom from the fixture app/);
    expect(log).toContain("Traceback (most recent call last):");
    expect(log).toContain(`Exception occurred processing WSGI script '${fixture("raises.wsgi")}'`);
    const ok = await Promise.all(Array.from({ length: 16 }, () => get(`${server.url}/hello`)));
    for (const r of ok) expect(r).toMatchObject({ status: 200, text: "Hello World!" });
  });

  test("HEAD gets the headers and no body", async () => {
    const r = await fetch(`${server.url}/hello`, { method: "HEAD" });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("");
  });
});

describe("the WSGI call (--threads 1)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--threads", "1", "--alias", `/env=${fixture("environ.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  test("wsgi.multithread is false", async () => {
    const env = await getJson(`${server.url}/env`);
    expect(env["wsgi.multithread"]).toBe(false);
    expect(env["wsgi.multiprocess"]).toBe(false);
  });
});
