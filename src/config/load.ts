// From the flags to what the server runs: the site model (from --config and the flags), its
// warnings on stderr, --strict, --check-config, and the ServerConfig the server runs.
import type { Flags } from "../cli/args.ts";
import { needsSupervisor, type ServerConfig } from "../config.ts";
import { connectionLimits } from "../http/wire/limits.ts";
import { ConfigError, Diagnostics, formatWarning } from "./diagnostics.ts";
import { explainSite } from "./explain.ts";
import { siteFromFlags } from "./from-flags.ts";
import { servePlan, servesAnything } from "./serve-plan.ts";

export type Loaded = { config: ServerConfig; exit?: undefined } | { exit: number };

export function loadSite(flags: Flags, hostname: string, options: { report: boolean }): Loaded {
  const diagnostics = new Diagnostics();
  const say = (line: string) => {
    if (options.report) process.stderr.write(`wsgi-bin: ${line}\n`);
  };
  let plan;
  let site;
  try {
    site = siteFromFlags(flags, diagnostics);
    plan = servePlan(site, hostname, diagnostics);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const warning of diagnostics.warnings) say(`warning: ${formatWarning(warning)}`);
    process.stderr.write(`wsgi-bin: error: ${error.message}\n`);
    return { exit: 1 };
  }
  for (const warning of diagnostics.warnings) say(`warning: ${formatWarning(warning)}`);
  if (flags.strict && diagnostics.warnings.length) {
    process.stderr.write(`wsgi-bin: --strict: ${diagnostics.warnings.length} configuration warning${diagnostics.warnings.length > 1 ? "s are errors" : " is an error"}\n`);
    return { exit: 1 };
  }
  if (flags.checkConfig) {
    process.stdout.write(explainSite(site, plan, hostname));
    return { exit: 0 };
  }
  if (!plan.hosts.some(servesAnything)) {
    process.stderr.write(`wsgi-bin: error: nothing to serve: ${flags.config ?? "the command line"} gives no virtual host a WSGI route, static files or a redirect this version can serve${diagnostics.warnings.length ? " (see the warnings above)" : ""}\n`);
    return { exit: 1 };
  }
  const config = { ...withConnectionFlags(plan.config, flags), user: flags.user ?? plan.config.user, group: flags.user !== undefined ? flags.group : flags.group ?? plan.config.group };
  // Supervised processes share each port: the supervisor picks the first listener's when it is 0, no other.
  const picked = needsSupervisor(config) ? config.listeners.slice(1).find((listener) => listener.port === 0 && listener.source) : undefined;
  if (picked) {
    process.stderr.write(`wsgi-bin: error: ${new ConfigError(picked.source, `Listen ${picked.host}:0: with several processes only the first Listen may leave its port to the system`).message}\n`);
    return { exit: 1 };
  }
  return { config };
}

/** The connection and queue flags (limits, timeouts, queue limit, deadlock timeout) over what the plan says. */
export function withConnectionFlags(config: ServerConfig, flags: Flags): ServerConfig {
  return {
    ...config,
    ...connectionLimits(flags, config),
    queueLimit: flags.queueLimit ?? config.queueLimit,
    deadlockTimeout: flags.deadlockTimeout ?? config.deadlockTimeout,
  };
}
