// mod_authz_core's authorization containers: <RequireAll>, <RequireAny> and <RequireNone> around
// Require lines (and each other), and `Require not`. Refused where httpd refuses them at start, in
// its words: a negation that could never matter (directly in a section, or in <RequireAny> or
// <RequireNone>, which grant when one rule grants), an empty container, a <RequireAll> whose rules
// can only deny.
import { ConfigError, type Source } from "../diagnostics.ts";
import type { RequireContainer, RequireRule } from "../site.ts";
import type { Walk } from "./context.ts";

const CONTAINERS: Record<string, RequireContainer["op"]> = { requireall: "all", requireany: "any", requirenone: "none" };

/** <RequireAll>, <RequireAny> or <RequireNone>'s op by the section's name (lower-case); undefined for any other. */
export function containerOp(lowerName: string): RequireContainer["op"] | undefined {
  return CONTAINERS[lowerName];
}

/** How httpd names a container in its messages; a section's own Require lines are an implicit <RequireAny>. */
const named = (op: RequireContainer["op"]) => `<Require${op === "all" ? "All" : op === "any" ? "Any" : "None"}>`;

/** What a rule would be added to where `walk` stands: the container open there, else the section's lines. */
function targetOp(walk: Walk): RequireContainer["op"] {
  return walk.requireIn?.op ?? "any";
}

/** A Require line where it stands: into the open container, or the section's lines. */
export function addRequireRule(walk: Walk, rule: RequireRule, source: Source): void {
  if (rule.kind !== "container" && rule.negated && targetOp(walk) !== "all") {
    throw new ConfigError(source, `negative Require directive has no effect in ${named(targetOp(walk))} directive`);
  }
  if (walk.requireIn) walk.requireIn.rules.push(rule);
  else if (walk.settings.access) walk.settings.access.rules.push(rule);
  else walk.settings.access = { rules: [rule], source };
}

/**
 * Walks a container's children with their rules going into it, then adds it where it stands: spliced
 * into a parent of the same kind (httpd's containers are associative), else as one rule.
 */
export function openRequireContainer(walk: Walk, op: RequireContainer["op"], args: string[], source: Source,
  walkChildren: (walk: Walk) => void): void {
  if (args.length) throw new ConfigError(source, `${named(op)} directive doesn't take additional arguments`);
  const container: RequireContainer = { kind: "container", op, rules: [] };
  walkChildren({ ...walk, requireIn: container });
  if (container.rules.length === 0) throw new ConfigError(source, `${named(op)} directive contains no authorization directives`);
  if (op === "none" && targetOp(walk) !== "all") {
    throw new ConfigError(source, `${named(op)} directive has no effect in ${named(targetOp(walk))} directive`);
  }
  if (op === "all" && !container.rules.some(grants)) {
    throw new ConfigError(source, `AH01624: ${named(op)} directive contains only negative authorization directives`);
  }
  if (op !== "none" && op === targetOp(walk)) {
    for (const rule of container.rules) addRequireRule(walk, rule, source);
  } else addRequireRule(walk, container, source);
}

/** Can this rule, inside a <RequireAll>, grant? Not a negated line, nor a <RequireNone> (whose lines are negated there). */
function grants(rule: RequireRule): boolean {
  return rule.kind === "container" ? rule.op !== "none" : !rule.negated;
}
