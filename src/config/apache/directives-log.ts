// mod_log_config and the core's logging directives: ErrorLog, LogLevel, LogFormat, CustomLog.
import { ConfigError, type Source } from "../diagnostics.ts";
import { LEVELS } from "../../log/levels.ts";
import { compileLogFormat, LogFormatError } from "../../log/log-format.ts";
import type { CustomLog } from "../site.ts";
import { HOST, pathArg, type DirectiveSpec } from "./context.ts";

/** The nicknames Debian's apache2.conf defines, so a lone vhost file can name them. */
export const STANDARD_FORMATS: [string, string][] = [
  ["vhost_combined", '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'],
  ["combined", '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'],
  ["common", '%h %l %u %t "%r" %>s %O'],
  ["referer", "%{Referer}i -> %U"],
  ["agent", "%{User-agent}i"],
];

/** Apache's trace1..trace8 are finer than debug; wsgi-bin's finest is debug. */
function levelName(value: string): string | undefined {
  const lower = value.toLowerCase();
  if (/^trace[1-8]$/.test(lower)) return "debug";
  return (LEVELS as readonly string[]).includes(lower) ? lower : undefined;
}

/** A format Apache would refuse (an unknown %-directive) is a configuration error here too, where it is written. */
export function checkFormat(format: string, source: Source | undefined): void {
  try {
    compileLogFormat(format);
  } catch (error) {
    if (error instanceof LogFormatError) throw new ConfigError(source, error.message);
    throw error;
  }
}

export const LOG_DIRECTIVES: DirectiveSpec[] = [
  {
    name: "ErrorLog", where: HOST, args: [1, 1], usage: "FILE",
    apply(walk, args, source) {
      const target = args[0]!;
      if (target.startsWith("|") || target.toLowerCase().startsWith("syslog")) {
        walk.diagnostics.warn(source, `ErrorLog ${target}: pipes and syslog are not implemented by wsgi-bin: ignored`);
        return;
      }
      walk.vhost.errorLog = pathArg(walk, target, source);
    },
  },
  {
    name: "LogLevel", where: HOST, args: [1, Infinity], usage: "LEVEL [MODULE:LEVEL]...",
    apply(walk, args, source) {
      let level: string | undefined;
      for (const arg of args) {
        const colon = arg.indexOf(":");
        const module = colon < 0 ? "" : arg.slice(0, colon).toLowerCase();
        const name = levelName(colon < 0 ? arg : arg.slice(colon + 1));
        if (!name) throw new ConfigError(source, `LogLevel: unknown level '${arg}' (one of ${LEVELS.join(", ")}, trace1-8)`);
        // wsgi-bin's messages are all mod_wsgi's or the core's: those modules' levels apply.
        if (module === "" || module === "core") level ??= name;
        else if (module === "wsgi" || module === "mod_wsgi") level = name;
        else walk.diagnostics.warn(source, `LogLevel ${arg}: wsgi-bin has no module '${module}': ignored`);
      }
      if (level) walk.vhost.logLevel = level;
    },
  },
  {
    name: "LogFormat", where: HOST, args: [1, 2], usage: "FORMAT [NICKNAME]",
    apply(walk, args, source) {
      if (args.length === 1) {
        walk.diagnostics.warn(source, "LogFormat without a nickname sets TransferLog's format; TransferLog is not implemented by wsgi-bin: ignored");
        return;
      }
      checkFormat(args[0]!, source);
      walk.draft.formats.set(args[1]!, args[0]!);
    },
  },
  {
    name: "CustomLog", where: HOST, args: [2, 3], usage: "FILE FORMAT-OR-NICKNAME [env=VAR|expr=EXPR]",
    apply(walk, args, source) {
      const [target, formatArg, condition] = args as [string, string, string | undefined];
      if (target.startsWith("|") || target.toLowerCase().startsWith("syslog")) {
        walk.diagnostics.warn(source, `CustomLog ${target}: pipes and syslog are not implemented by wsgi-bin: ignored`);
        return;
      }
      let when: CustomLog["condition"];
      if (condition !== undefined) {
        const variable = /^env=(!?)(.+)$/i.exec(condition);
        if (variable) when = { variable: variable[2]!, set: variable[1] === "" };
        else if (/^expr=/i.test(condition)) walk.diagnostics.warn(source, `CustomLog: the condition '${condition}' is not implemented by wsgi-bin: every request is logged`);
        else throw new ConfigError(source, `CustomLog: the condition '${condition}' is neither env=[!]VARIABLE nor expr=EXPRESSION`);
      }
      const nicknamed = walk.draft.formats.get(formatArg);
      if (nicknamed === undefined && !formatArg.includes("%")) {
        walk.diagnostics.warn(source, `CustomLog: '${formatArg}' is no LogFormat nickname, so it is logged as the literal text it is`);
      }
      if (nicknamed === undefined) checkFormat(formatArg, source);
      walk.vhost.customLogs.push({
        target: target === "-" ? "-" : pathArg(walk, target, source),
        format: nicknamed ?? formatArg,
        nickname: nicknamed === undefined ? undefined : formatArg,
        condition: when,
        source,
      });
    },
  },
];
