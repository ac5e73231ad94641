// wsgi-bin as a library: Apache mod_wsgi's embedded mode inside a Bun or Node (>= 20) process.
//
//   import { createServer } from "wsgi-bin";
//   const server = createServer({ aliases: { "/hello": "/path/to/hello.wsgi" } });
//   const url = await server.listen({ host: "127.0.0.1", port: 0 });   // or, with no socket:
//   const response = await server.fetch(new Request("http://app.local/hello"));
//   await server.close();
import { EmbeddedServer } from "./embedded-server.ts";
import { serverConfig } from "./options.ts";
import { checkRuntime } from "./runtime.ts";
import type { ServerOptions, WsgiServer } from "./types.ts";

export {
  ConfigurationError, ListenError, PythonNotFoundError, ScriptLoadError, ServerClosedError, UnsupportedRuntimeError, WsgiBinError,
} from "./errors.ts";
export type { AliasEntry, AliasOptions, ListenOptions, LogLevel, RequestEntry, ServerOptions, StatusReport, WsgiServer } from "./types.ts";

/**
 * Starts Python and the worker threads, and (unless `preload: false`) loads the scripts; throws a
 * ConfigurationError or PythonNotFoundError at once, and `ready` (and listen()) reject with a
 * ScriptLoadError for a script that cannot load.
 */
export function createServer(options: ServerOptions): WsgiServer {
  checkRuntime();
  return new EmbeddedServer(options, serverConfig(options));
}
