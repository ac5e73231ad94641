// The status page's per-alias rows: each WSGI script served, once, named by the alias and application
// group of its first route (requests are counted by script, so routes to one script share its row).
import type { PlannedHost } from "../config/serve-plan.ts";
import { applicationGroupName } from "../http/aliases.ts";
import type { RouteInfo } from "./stats.ts";

export interface RouteTable {
  routes: RouteInfo[];
  /** Script path -> its row in `routes`. */
  index: Map<string, number>;
}

/** `port`: the one each listener's %{RESOURCE}/%{SERVER} group names are made with. */
export function routeTable(listeners: { hosts: PlannedHost[]; port: number }[]): RouteTable {
  const table: RouteTable = { routes: [], index: new Map() };
  for (const { hosts, port } of listeners) {
    for (const host of hosts) {
      for (const route of host.routes) {
        const script = route.route.target;
        if (table.index.has(script)) continue;
        table.index.set(script, table.routes.length);
        const group = applicationGroupName({ applicationGroup: route.applicationGroup, url: route.route.url }, host.serverName, port);
        table.routes.push({ alias: route.route.url, script, group });
      }
    }
  }
  return table;
}
