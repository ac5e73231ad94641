// mod_wsgi's directives, as its documentation describes them.
import { existsSync, statSync } from "node:fs";
import { ipRanges } from "../../http/ip-ranges.ts";
import { isProxyHeader, PROXY_HEADER_NAMES } from "../../http/trusted-proxies.ts";
import { ConfigError, type Source } from "../diagnostics.ts";
import { DAEMON_OPTIONS, daemonSettings, IMPLEMENTED_DAEMON_OPTIONS, splitPythonPath } from "../daemon-options.ts";
import {
  ANYWHERE, flagArg, HOST, keyValueArgs, pathArg, PYTHON_NAME, regexArg, SERVER, type DirectiveSpec, type Walk,
} from "./context.ts";

const ALIAS_OPTIONS = new Set(["process-group", "application-group", "callable-object", "pass-authorization"]);

/** Group names: %{GLOBAL}, %{SERVER}, %{RESOURCE} or a name; %{ENV:...} needs request variables wsgi-bin lacks. */
function groupArg(walk: Walk, name: string, value: string, source: Source): string | undefined {
  if (/^%\{ENV:/i.test(value)) {
    walk.diagnostics.warn(source, `${name} ${value}: %{ENV:...} is not implemented by wsgi-bin: ignored`);
    return undefined;
  }
  if (value === "") throw new ConfigError(source, `${name}: the group name is empty`);
  return value;
}

function scriptAlias(walk: Walk, name: string, args: string[], source: Source, regex: boolean): void {
  const [urlArg, targetArg, ...rest] = args as [string, string, ...string[]];
  if (regex) regexArg(name, urlArg, source);
  else if (!urlArg.startsWith("/")) throw new ConfigError(source, `${name}: the URL-path must start with '/', got '${urlArg}'`);
  const options = keyValueArgs(name, rest, source, "WSGI script alias definition");
  for (const key of options.keys()) {
    if (!ALIAS_OPTIONS.has(key)) {
      throw new ConfigError(source, `${name}: invalid option '${key}' (process-group=, application-group=, callable-object=, pass-authorization=)`);
    }
  }
  const target = pathArg(walk, targetArg, source);
  const directory = targetArg.endsWith("/") || (existsSync(target) && statSync(target).isDirectory());
  if (!regex && !existsSync(target)) walk.diagnostics.warn(source, `${name}: the WSGI script '${target}' does not exist`);
  const callable = options.get("callable-object");
  if (callable !== undefined && !PYTHON_NAME.test(callable)) throw new ConfigError(source, `${name}: callable-object '${callable}' is not a Python name`);
  const pass = options.get("pass-authorization");
  const url = regex || urlArg.length === 1 ? urlArg : urlArg.replace(/\/+$/, "");
  const earlier = walk.vhost.wsgiRoutes.find((route) => route.url === url && route.match === (regex ? "regex" : "prefix"));
  if (earlier) walk.diagnostics.warn(source, `${name} ${url} is declared again: the first (line ${earlier.source?.line}) wins`);
  walk.vhost.wsgiRoutes.push({
    match: regex ? "regex" : "prefix",
    url,
    target,
    directory,
    processGroup: options.has("process-group") ? groupArg(walk, `${name} process-group=`, options.get("process-group")!, source) : undefined,
    applicationGroup: options.has("application-group")
      ? groupArg(walk, `${name} application-group=`, options.get("application-group")!, source)
      : undefined,
    callableObject: callable,
    passAuthorization: pass === undefined ? undefined : flagArg(`${name} pass-authorization=`, pass, source),
    source,
  });
}


function setting<K extends "scriptReloading" | "passAuthorization" | "chunkedRequest">(key: K, name: string): DirectiveSpec {
  return {
    name, where: ANYWHERE, args: [1, 1], usage: "On|Off",
    apply(walk, args, source) {
      walk.settings[key] = flagArg(name, args[0]!, source);
    },
  };
}

export const WSGI_DIRECTIVES: DirectiveSpec[] = [
  {
    name: "WSGIScriptAlias", where: HOST, args: [2, 6], usage: "URL-PATH FILE [OPTION=VALUE]...",
    apply: (walk, args, source) => scriptAlias(walk, "WSGIScriptAlias", args, source, false),
  },
  {
    name: "WSGIScriptAliasMatch", where: HOST, args: [2, 6], usage: "REGEX FILE [OPTION=VALUE]...",
    apply: (walk, args, source) => scriptAlias(walk, "WSGIScriptAliasMatch", args, source, true),
  },
  {
    name: "WSGIDaemonProcess", where: HOST, args: [1, Infinity], usage: "NAME [OPTION=VALUE]...",
    apply(walk, args, source) {
      const [name, ...rest] = args as [string, ...string[]];
      const existing = walk.draft.daemons.find((daemon) => daemon.name === name);
      if (existing) throw new ConfigError(source, `WSGIDaemonProcess: the name '${name}' duplicates the one at line ${existing.source?.line}`);
      if (name.startsWith("%{")) throw new ConfigError(source, `WSGIDaemonProcess: '${name}' is not a valid group name`);
      const options = keyValueArgs("WSGIDaemonProcess", rest, source, "WSGI daemon process definition");
      const unimplemented: string[] = [];
      for (const key of options.keys()) {
        if (!DAEMON_OPTIONS.has(key)) throw new ConfigError(source, `WSGIDaemonProcess ${name}: invalid option '${key}'`);
        if (!IMPLEMENTED_DAEMON_OPTIONS.has(key)) unimplemented.push(key);
      }
      if (unimplemented.length) {
        walk.diagnostics.warn(source, `WSGIDaemonProcess ${name}: ${unimplemented.map((key) => `${key}=`).join(", ")} not implemented by wsgi-bin: ignored`);
      }
      const settings = daemonSettings(name, options, {
        fail: (message) => {
          throw new ConfigError(source, message);
        },
        path: (value) => pathArg(walk, value, source),
        warn: (message) => walk.diagnostics.warn(source, message),
      });
      const host = walk.vhost === walk.draft.main ? undefined : walk.vhost;
      walk.draft.daemons.push({ name, options: Object.fromEntries(options), settings, unimplemented, host, source });
    },
  },
  {
    name: "WSGIProcessGroup", where: ANYWHERE, args: [1, 1], usage: "%{GLOBAL}|NAME",
    apply(walk, args, source) {
      const group = groupArg(walk, "WSGIProcessGroup", args[0]!, source);
      if (group === "%{SERVER}" || group === "%{RESOURCE}") throw new ConfigError(source, `WSGIProcessGroup: ${group} is not a process group (%{GLOBAL} or a WSGIDaemonProcess name)`);
      if (group !== undefined) walk.settings.processGroup = group;
    },
  },
  {
    name: "WSGIApplicationGroup", where: ANYWHERE, args: [1, 1], usage: "%{GLOBAL}|%{SERVER}|%{RESOURCE}|NAME",
    apply(walk, args, source) {
      const group = groupArg(walk, "WSGIApplicationGroup", args[0]!, source);
      if (group !== undefined) walk.settings.applicationGroup = group;
    },
  },
  {
    name: "WSGICallableObject", where: ANYWHERE, args: [1, 1], usage: "NAME",
    apply(walk, args, source) {
      if (/^%\{ENV:/i.test(args[0]!)) {
        walk.diagnostics.warn(source, `WSGICallableObject ${args[0]}: %{ENV:...} is not implemented by wsgi-bin: ignored`);
        return;
      }
      if (!PYTHON_NAME.test(args[0]!)) throw new ConfigError(source, `WSGICallableObject: '${args[0]}' is not a Python name`);
      walk.settings.callableObject = args[0]!;
    },
  },
  {
    name: "WSGIImportScript", where: HOST, args: [3, 3], usage: "FILE process-group=NAME application-group=NAME",
    apply(walk, args, source) {
      const [file, ...rest] = args as [string, ...string[]];
      const options = keyValueArgs("WSGIImportScript", rest, source, "WSGI import script definition");
      const processGroup = options.get("process-group");
      const applicationGroup = options.get("application-group");
      if (processGroup === undefined || applicationGroup === undefined || options.size !== 2) {
        throw new ConfigError(source, "WSGIImportScript needs both process-group= and application-group=, and nothing else");
      }
      if (applicationGroup === "%{RESOURCE}") throw new ConfigError(source, "WSGIImportScript: application-group=%{RESOURCE} names no alias here");
      const script = pathArg(walk, file, source);
      if (!existsSync(script)) walk.diagnostics.warn(source, `WSGIImportScript: '${script}' does not exist`);
      walk.draft.importScripts.push({ script, processGroup, applicationGroup, source });
    },
  },
  {
    name: "WSGIPythonHome", where: SERVER, args: [1, 1], usage: "DIRECTORY",
    apply(walk, args, source) {
      walk.draft.embedded.pythonHome = pathArg(walk, args[0]!, source);
    },
  },
  {
    name: "WSGIPythonPath", where: SERVER, args: [1, 1], usage: "DIRECTORY[:DIRECTORY]...",
    apply(walk, args, source) {
      walk.draft.embedded.pythonPath.push(...splitPythonPath(args[0]!, (dir) => pathArg(walk, dir, source)));
    },
  },
  setting("passAuthorization", "WSGIPassAuthorization"),
  setting("scriptReloading", "WSGIScriptReloading"),
  setting("chunkedRequest", "WSGIChunkedRequest"),
  {
    name: "WSGIRestrictEmbedded", where: SERVER, args: [1, 1], usage: "On|Off",
    apply(walk, args, source) {
      walk.draft.restrictEmbedded = flagArg("WSGIRestrictEmbedded", args[0]!, source);
    },
  },
  {
    name: "WSGIRestrictSignal", where: SERVER, args: [1, 1], usage: "On|Off",
    apply(walk, args, source) {
      if (!flagArg("WSGIRestrictSignal", args[0]!, source)) {
        walk.diagnostics.warn(source, "WSGIRestrictSignal Off: an app's signal handler could never run on wsgi-bin's worker threads (Python allows them on the main thread only): registrations stay logged and ignored");
      }
    },
  },
  {
    name: "WSGITrustedProxies", where: ANYWHERE, args: [1, Infinity], usage: "ADDRESS[/BITS]...",
    apply(walk, args, source) {
      try {
        ipRanges(args);
      } catch (error) {
        throw new ConfigError(source, `WSGITrustedProxies: ${(error as Error).message}`);
      }
      // Several lines in one context add up, as mod_wsgi's.
      walk.settings.trustedProxies = [...(walk.settings.trustedProxies ?? []), ...args];
    },
  },
  {
    name: "WSGITrustedProxyHeaders", where: ANYWHERE, args: [1, Infinity], usage: "HEADER...",
    apply(walk, args, source) {
      const known = args.filter((header) => isProxyHeader(header));
      for (const header of args.filter((h) => !known.includes(h))) {
        walk.diagnostics.warn(source, `WSGITrustedProxyHeaders: '${header}' is not a header mod_wsgi takes from a proxy (${PROXY_HEADER_NAMES.join(", ")}): ignored`);
      }
      walk.settings.trustedProxyHeaders = [...(walk.settings.trustedProxyHeaders ?? []), ...known];
    },
  },
];
