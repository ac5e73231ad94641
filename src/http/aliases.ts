// mod_wsgi's application group names (which alias a path belongs to: src/http/site/host-runtime.ts).
import type { AliasConfig } from "../config.ts";

/** mod_wsgi's application group names: %{RESOURCE} is `host[:port]|/alias` (an alias's only). */
export function applicationGroupName(
  alias: Pick<AliasConfig, "applicationGroup"> & { url?: string },
  serverName: string,
  port: number,
): string {
  const server = port === 80 || port === 443 ? serverName : `${serverName}:${port}`;
  switch (alias.applicationGroup) {
    case "%{GLOBAL}":
      return "";
    case "%{SERVER}":
      return server;
    case "%{RESOURCE}":
      return `${server}|${alias.url === "/" ? "" : alias.url}`;
    default:
      return alias.applicationGroup;
  }
}
