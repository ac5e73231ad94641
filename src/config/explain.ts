// --check-config: the effective site in words, as httpd -S does for virtual hosts, plus what each
// request path leads to (routes in match order, with their process and application groups), and what
// this process serves of it.
import { applicationGroupName } from "../http/aliases.ts";
import { describeSource, type Source } from "./diagnostics.ts";
import { accessVerdict, effectiveOptions, resolveRoute, settingsFor, statusLocations, vhostNames, vhostsOnPort } from "./resolve.ts";
import { describeVhost, type ServePlan } from "./serve-plan.ts";
import type { Access, ProcessSettings, RequireLine, RequireRule, Site, VirtualHost } from "./site.ts";

const at = (source: Source | undefined) => (source ? `  (${describeSource(source)})` : "");

function requireText(rule: RequireRule): string {
  if (rule.kind === "container") return `<Require${{ all: "All", any: "Any", none: "None" }[rule.op]}> ${rule.rules.map(requireText).join(", ")}`;
  return (rule.negated ? "not " : "") + lineText(rule);
}

function lineText(rule: RequireLine): string {
  switch (rule.kind) {
    case "all":
      return `all ${rule.granted ? "granted" : "denied"}`;
    case "ip":
      return `ip ${rule.ranges.join(" ")}`;
    case "local":
      return "local";
    case "valid-user":
      return "valid-user";
    case "user":
    case "group":
    case "wsgi-group":
      return `${rule.kind} ${rule.names.join(" ")}`;
    default:
      return `${rule.text} (not implemented)`;
  }
}

function accessText(access: Access | undefined): string {
  if (!access) return "granted (no Require)";
  return `${accessVerdict(access)} (Require ${access.rules.map(requireText).join(" | ")})`;
}

function processText(settings: ProcessSettings): string {
  const parts = [`processes=${settings.processes}`, `threads=${settings.threads}`];
  if (settings.python) parts.push(`python=${settings.python}`);
  if (settings.pythonHome) parts.push(`python-home=${settings.pythonHome}`);
  if (settings.pythonPath.length) parts.push(`python-path=${settings.pythonPath.join(":")}`);
  if (settings.requestTimeout) parts.push(`request-timeout=${settings.requestTimeout}`);
  if (settings.queueTimeout) parts.push(`queue-timeout=${settings.queueTimeout}`);
  if (settings.maximumRequests) parts.push(`maximum-requests=${settings.maximumRequests}`);
  if (settings.restartInterval) parts.push(`restart-interval=${settings.restartInterval}`);
  parts.push(`graceful-timeout=${settings.gracefulTimeout}`);
  if (settings.connectTimeout) parts.push(`connect-timeout=${settings.connectTimeout}`);
  if (settings.deadlockTimeout !== undefined) parts.push(`deadlock-timeout=${settings.deadlockTimeout}`);
  if (settings.listenBacklog !== undefined) parts.push(`listen-backlog=${settings.listenBacklog}`);
  if (settings.home) parts.push(`home=${settings.home}`);
  if (settings.displayName) parts.push(`display-name=${settings.displayName}`);
  if (settings.user) parts.push(`user=${settings.user}`);
  if (settings.group) parts.push(`group=${settings.group}`);
  return parts.join(" ");
}

function groupText(group: string, serverName: string, port: number, url: string): string {
  if (group === "%{GLOBAL}") return "%{GLOBAL} (the main interpreter)";
  if (group !== "%{SERVER}" && group !== "%{RESOURCE}") return group;
  if (port === 0) return `${group} (named once the port is chosen)`;
  return `${group} = '${applicationGroupName({ applicationGroup: group, url }, serverName, port)}'`;
}

function vhostLines(site: Site, vhost: VirtualHost, port: number, fallbackName: string): string[] {
  const lines: string[] = [];
  const serverName = vhost.serverName ?? fallbackName;
  if (vhost.serverAliases.length) lines.push(`  ServerAlias ${vhost.serverAliases.join(" ")}`);
  lines.push(`  ErrorLog ${vhost.errorLog ?? "(stderr)"}, LogLevel ${vhost.logLevel ?? "notice"}`);
  for (const log of vhost.customLogs) {
    const condition = log.condition ? ` env=${log.condition.set ? "" : "!"}${log.condition.variable}` : "";
    lines.push(`  CustomLog ${log.target} ${log.nickname ?? JSON.stringify(log.format)}${condition}${at(log.source)}`);
  }
  const limit = vhost.settings.limitRequestBody;
  if (limit !== undefined) lines.push(`  LimitRequestBody ${limit || "0 (no limit)"}`);
  const ssl = vhost.ssl;
  if (ssl?.engine) {
    lines.push(`  SSLEngine on: certificate ${ssl.certificateFile ?? "(none)"}, key ${ssl.keyFile ?? "(none)"}${ssl.chainFile ? `, chain ${ssl.chainFile}` : ""}${at(ssl.source)}`);
  }
  for (const { name, value, source } of vhost.settings.setEnv) lines.push(`  SetEnv ${name} ${JSON.stringify(value)}${at(source)}`);
  for (const condition of vhost.settings.setEnvIf ?? []) {
    const sets = condition.assignments.map(({ name, value }) => (value === null ? `!${name}` : `${name}=${JSON.stringify(value)}`)).join(" ");
    lines.push(`  SetEnvIf${condition.noCase ? "NoCase" : ""} ${condition.attribute} ${JSON.stringify(condition.pattern)} ${sets}${at(condition.source)}`);
  }
  for (const rule of vhost.settings.headers) lines.push(`  Header ${rule.always ? "always " : ""}${rule.action} ${rule.name}${rule.value === undefined ? "" : ` ${JSON.stringify(rule.value)}`}${at(rule.source)}`);
  const { trustedProxies, trustedProxyHeaders, chunkedRequest } = vhost.settings;
  if (trustedProxyHeaders?.length) {
    lines.push(`  WSGITrustedProxyHeaders ${trustedProxyHeaders.join(" ")} from ${trustedProxies ? `WSGITrustedProxies ${trustedProxies.join(" ")}` : "any client (no WSGITrustedProxies)"}`);
  }
  if (chunkedRequest === false) lines.push("  WSGIChunkedRequest Off (a chunked request body gets 411)");
  lines.push("  routes, in match order:");
  let n = 0;
  const item = (text: string, source?: Source) => lines.push(`    ${++n}. ${text}${at(source)}`);
  for (const section of vhost.sections) {
    if (section.kind !== "location" || section.regex || section.settings.handler !== "server-status") continue;
    const path = statusLocations({ ...vhost, sections: [section] })[0]!;
    item(`status ${path} (SetHandler server-status: the page, ?json, ${path === "/" ? "" : path}/metrics); access ${accessText(settingsFor(vhost, path).access)}`, section.source);
  }
  if (vhost.rewriteEngine) {
    for (const rule of vhost.rewrites ?? []) {
      const conds = rule.conds.map((cond) => ` if ${cond.test} ${cond.negate ? "!" : ""}${cond.kind === "regex" ? "" : cond.kind}${cond.pattern}${cond.or ? " or" : ""}`).join("");
      const answer = rule.substitution === "-" ? (rule.status ? `${rule.status}` : "(nothing)")
        : rule.status ? `${rule.status} ${rule.substitution}` : `path ${rule.substitution}`;
      const flag = rule.passThrough ? " [PT]" : rule.last ? " [L]" : "";
      item(`rewrite ${rule.negate ? "!" : ""}${rule.pattern} -> ${answer}${flag}${conds}`, rule.source);
    }
  } else if (vhost.rewrites?.length) lines.push(`  (RewriteEngine is off: its ${vhost.rewrites.length} RewriteRules are not applied)`);
  for (const redirect of vhost.redirects) {
    item(`redirect ${redirect.match === "regex" ? `~ ${redirect.url}` : redirect.url} -> ${redirect.status}${redirect.location ? ` ${redirect.location}` : ""}`, redirect.source);
  }
  for (const mapping of vhost.staticMappings) {
    const regex = mapping.kind === "alias-match";
    let detail = "";
    if (!regex) {
      const settings = settingsFor(vhost, mapping.url, mapping.target.replace(/\/?$/, "/"));
      const index = settings.directoryIndex ?? ["index.html"];
      detail = `; access ${accessText(settings.access)}; Options ${[...effectiveOptions(settings.options)].join(" ") || "None"}; DirectoryIndex ${index.length ? index.join(" ") : "disabled"}`;
    }
    item(`static ${regex ? `~ ${mapping.url}` : mapping.url} -> ${mapping.target}${detail}`, mapping.source);
  }
  for (const route of vhost.wsgiRoutes) {
    const r = resolveRoute(vhost, route);
    const url = route.match === "regex" ? `~ ${route.url}` : route.url;
    item(
      `wsgi ${url} -> ${route.target}${route.directory ? " (directory of scripts)" : ""}; process group ${r.processGroup === "%{GLOBAL}" ? "%{GLOBAL} (embedded)" : r.processGroup}` +
        `${r.groupsInside.length ? ` (parts of it: ${r.groupsInside.join(", ")}, by sections inside)` : ""}; ` +
        `application group ${groupText(r.applicationGroup, serverName, port, route.url)}; callable ${r.callableObject}` +
        `${r.passAuthorization ? "; pass-authorization" : ""}${r.reload ? "" : "; no reloading"}; access ${accessText(r.settings.access)}`,
      route.source,
    );
  }
  if (vhost.documentRoot) {
    const settings = settingsFor(vhost, "/", vhost.documentRoot + "/");
    item(`static / -> ${vhost.documentRoot} (DocumentRoot); access ${accessText(settings.access)}; Options ${[...effectiveOptions(settings.options)].join(" ") || "None"}`, vhost.documentRootSource);
  }
  if (n === 0) lines.push("    (none: every request is 404)");
  // mod_wsgi's handler: where the files the static mappings lead to run as scripts (with Options ExecCGI).
  for (const { settings, label, source } of [{ settings: vhost.settings, label: "the host", source: vhost.source }, ...vhost.sections.map((section) =>
    ({ settings: section.settings, label: `<${SECTION_NAMES[section.kind]}${section.regex ? " ~" : ""} ${section.pattern}>`, source: section.source }))]) {
    const extensions = Object.entries(settings.addHandlers ?? {}).filter(([, handler]) => handler === "wsgi-script").map(([extension]) => `*.${extension}`);
    const files = settings.handler === "wsgi-script" ? "every file (SetHandler)" : extensions.length ? `${extensions.join(", ")} (AddHandler)` : null;
    if (files) lines.push(`  wsgi-script handler in ${label}: ${files} run as WSGI scripts where Options ExecCGI is on${at(source)}`);
  }
  return lines;
}

const SECTION_NAMES = { directory: "Directory", files: "Files", location: "Location" } as const;

export function explainSite(site: Site, plan: ServePlan, hostname: string): string {
  const out: string[] = [];
  const [main, ...included] = site.files;
  out.push(main ? `Configuration: ${main}${included.length ? ` (and ${included.length} included: ${included.join(", ")})` : ""}` : "Configuration: the command line");
  out.push("");
  out.push("Listeners:");
  for (const listener of plan.config.listeners) {
    const tls = listener.tls ? ` (certificate ${listener.tls.certificateFile}, key ${listener.tls.keyFile}${listener.tls.chainFile ? `, chain ${listener.tls.chainFile}` : ""})` : "";
    out.push(`  ${listener.host}:${listener.port} ${listener.tls ? "https" : "http"}${tls}${at(listener.source)}`);
  }
  out.push("");
  out.push("Process groups:");
  out.push(`  %{GLOBAL} (embedded): ${processText(site.embedded)}${site.restrictEmbedded ? " (WSGIRestrictEmbedded On)" : ""}`);
  for (const daemon of site.daemons) {
    out.push(`  ${daemon.name}: ${processText(daemon.settings)}${at(daemon.source)}`);
    if (daemon.unimplemented.length) out.push(`    not implemented: ${daemon.unimplemented.map((key) => `${key}=${daemon.options[key]}`).join(" ")}`);
  }
  if (site.importScripts.length) {
    out.push("");
    out.push("Import scripts:");
    for (const script of site.importScripts) {
      out.push(`  ${script.script} process-group=${script.processGroup} application-group=${script.applicationGroup}${at(script.source)}`);
    }
  }
  // %{RESOURCE} and %{SERVER} names hold the port of the listener a host is reached on.
  const portOf = (vhost: VirtualHost) => plan.config.listeners.find((l) => l.hosts.some((h) => h.vhost === vhost))?.port ?? plan.config.port;
  for (const vhost of site.vhosts) {
    out.push("");
    const ports = site.listeners.map((l) => l.port).filter((p) => vhostsOnPort(site, p)[0] === vhost);
    const role = ports.length ? ` (default for port ${ports.join(", ")})` : "";
    out.push(`${describeVhost(vhost, site)}${role}${at(vhost.source)}`);
    out.push(...vhostLines(site, vhost, portOf(vhost), hostname));
  }
  const uncovered = site.listeners.filter((l) => vhostsOnPort(site, l.port).length === 0);
  if (site.vhosts.length === 0 || uncovered.length) {
    out.push("");
    const name = site.main.serverName ?? hostname;
    out.push(`Main server ${name}${uncovered.length && site.vhosts.length ? ` (port ${uncovered.map((l) => l.port).join(", ")}: no virtual host there)` : ""}`);
    out.push(...vhostLines(site, site.main, portOf(site.main), hostname));
  }
  out.push("");
  const listeners = plan.config.listeners.map((l) => `${l.tls ? "https" : "http"} ${l.host}:${l.port} (${l.hosts.map((h) => (h.vhost === site.main ? `main server ${h.serverName}` : vhostNames(h.vhost)[0] ?? h.serverName)).join(", ")})`);
  const { processes, threads } = plan.config;
  const count = (n: number) => `${n} process${n > 1 ? "es" : ""}`;
  out.push(`Served: ${listeners.join("; ")}; embedded group: ${count(processes)}, ${threads} threads` +
    plan.config.daemons.map((d) => `; daemon group ${d.name}: ${count(d.processes)}, ${d.threads} threads, ` +
      `listen-backlog=${d.queueLimit}, deadlock-timeout=${d.deadlockTimeout || "0 (off)"}`).join("") + ".");
  return out.join("\n") + "\n";
}
