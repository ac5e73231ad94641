// mod_wsgi's application group names (which alias a path belongs to: src/http/site/host-runtime.ts).

/** mod_wsgi's application group names: %{RESOURCE} is `host[:port]|/alias` (an alias's only). */
export function applicationGroupName(
  alias: { applicationGroup: string; url?: string },
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
