// WSGIScriptAlias semantics: which alias a path belongs to, SCRIPT_NAME/PATH_INFO, application groups.
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

/** Does the alias cover this (decoded) path? On segment boundaries only: /hello never covers /helloworld. */
export function aliasCovers(url: string, path: string): boolean {
  if (url === "/") return true;
  return path.startsWith(url) && (path.length === url.length || path.charCodeAt(url.length) === 47 /* / */);
}
