// What a directive handler sees: the site being built, where in it the directive stands (main
// server, a <VirtualHost>, a <Directory>/<Files>/<Location>), and helpers for its arguments.
import { isAbsolute, resolve } from "node:path";
import { DEFAULTS } from "../../config.ts";
import { ConfigError, type Diagnostics, type Source } from "../diagnostics.ts";
import type { ConnectionSettings, DaemonProcess, DirSettings, ImportScriptDef, Listener, ProcessSettings, RequireContainer, Section, VirtualHost } from "../site.ts";
import { wholeNumber } from "../whole-number.ts";

export type Where = "server" | "vhost" | "directory" | "files" | "location";

/** The site as the directives build it, before virtual hosts inherit from the main server. */
export interface SiteDraft {
  listeners: Listener[];
  main: VirtualHost;
  vhosts: VirtualHost[];
  embedded: ProcessSettings;
  daemons: DaemonProcess[];
  importScripts: ImportScriptDef[];
  restrictEmbedded: boolean;
  connection: ConnectionSettings;
  /** LogFormat nicknames. */
  formats: Map<string, string>;
}

export interface Walk {
  draft: SiteDraft;
  where: Where;
  /** The main server or the <VirtualHost> the directive is in. */
  vhost: VirtualHost;
  section?: Section;
  /** The <RequireAll>, <RequireAny> or <RequireNone> being read, which Require lines go into (require-sections.ts). */
  requireIn?: RequireContainer;
  /** Where per-directory directives go: the section's settings, or the host's defaults. */
  settings: DirSettings;
  diagnostics: Diagnostics;
  /** ServerRoot when given, else the directory of the file being read. */
  base(source: Source): string;
}

export interface DirectiveSpec {
  name: string;
  where: Where[];
  /** Smallest and largest argument counts (Infinity: any number). */
  args: [number, number];
  /** How the arguments read, for the error when their count is wrong. */
  usage: string;
  apply(walk: Walk, args: string[], source: Source): void;
}

export const SERVER: Where[] = ["server"];
export const HOST: Where[] = ["server", "vhost"];
export const ANYWHERE: Where[] = ["server", "vhost", "directory", "files", "location"];
export const SECTIONS: Where[] = ["directory", "files", "location"];

/** A path as written, made absolute: relative to ServerRoot, or to the file it is written in. */
export function pathArg(walk: Walk, value: string, source: Source): string {
  return isAbsolute(value) ? resolve(value) : resolve(walk.base(source), value);
}

export function flagArg(name: string, value: string, source: Source): boolean {
  const lower = value.toLowerCase();
  if (lower === "on") return true;
  if (lower === "off") return false;
  throw new ConfigError(source, `${name} must be On or Off, got '${value}'`);
}

export function integerArg(name: string, value: string, source: Source, min: number, max: number): number {
  return wholeNumber(name, value, min, max, (message) => {
    throw new ConfigError(source, message);
  });
}

/** A regular expression argument (PCRE in httpd; JavaScript's syntax covers the common subset). */
export function regexArg(name: string, value: string, source: Source): RegExp {
  try {
    return new RegExp(value);
  } catch (error) {
    throw new ConfigError(source, `${name}: invalid regular expression '${value}': ${(error as Error).message}`);
  }
}

/** name=value options (WSGIScriptAlias, WSGIDaemonProcess, WSGIImportScript). */
export function keyValueArgs(name: string, args: string[], source: Source, what: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new ConfigError(source, `${name}: invalid option to ${what} '${arg}' (options are name=value)`);
    options.set(arg.slice(0, eq).toLowerCase(), arg.slice(eq + 1));
  }
  return options;
}

export function defaultProcessSettings(): ProcessSettings {
  return {
    threads: DEFAULTS.threads,
    processes: DEFAULTS.processes,
    gracefulTimeout: DEFAULTS.gracefulTimeout,
    requestTimeout: DEFAULTS.requestTimeout,
    maximumRequests: DEFAULTS.maximumRequests,
    restartInterval: DEFAULTS.restartInterval,
    queueTimeout: DEFAULTS.queueTimeout,
    pythonPath: [],
  };
}

/** A Python identifier, as WSGICallableObject and callable-object= need. */
export const PYTHON_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
