// HEAD: the headers GET would send and no body; the iterable is closed and the worker is free again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixture, getJson, rawRequest, start, type RunningServer } from "./helpers/server.ts";

const head = (port: number, path: string) =>
  rawRequest(port, `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 5000).then((b) => b.toString("latin1"));

describe("HEAD", () => {
  let server: RunningServer;
  beforeAll(async () => {
    // One thread: a HEAD that stranded its worker would hang every request after it.
    server = await start({ args: ["--threads", "1", "--alias", `/h=${fixture("head.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  test("a streamed body: 200, no body, close() called, and the worker serves the next request", async () => {
    for (let i = 0; i < 3; i++) {
      const raw = await head(server.port, "/h/stream");
      expect(raw).toStartWith("HTTP/1.1 200 OK\r\n");
      expect(raw.endsWith("\r\n\r\n")).toBe(true); // nothing after the head
    }
    expect((await getJson(`${server.url}/h/closed`)).count).toBe(3);
    const get = await fetch(`${server.url}/h/stream`);
    expect(await get.text()).toBe("hello world");
  });

  test("a list body: Content-Length is what GET sends", async () => {
    const raw = await head(server.port, "/h/list");
    expect(raw).toMatch(/\r\ncontent-length: 11\r\n/i);
    expect(raw.endsWith("\r\n\r\n")).toBe(true);
    const get = await fetch(`${server.url}/h/list`);
    expect(get.headers.get("content-length")).toBe("11");
  });
});
