// mod_headers: Header set|unset|add|append|merge|setifempty|edit|edit* on responses, in the order
// written. Rules without `always` apply to the responses of apps and files; the server's own error
// pages and redirects get the `always` ones only (Apache clears its normal header table for those).
// RequestHeader: the same actions on a request's headers, before the app sees them.
import type { HeaderRule } from "../../config/site.ts";
import type { HeadEditor } from "../wire/response-writer.ts";
import { type Format, formatted, type FormatContext, headerFormat } from "./header-format.ts";
import { regex, substitute } from "./url-map.ts";

/** fields: [name, value, ...] from `from` (a response's head: [status, name, value, ...], from 1). */
function find(fields: string[], lower: string, from: number): number {
  for (let i = from; i + 1 < fields.length; i += 2) if (fields[i]!.toLowerCase() === lower) return i;
  return -1;
}

function remove(fields: string[], lower: string, from: number): void {
  for (let i = fields.length - 2; i >= from; i -= 2) if (fields[i]!.toLowerCase() === lower) fields.splice(i, 2);
}

/** edit: the first match of the rule's expression replaced ($0-$9); edit*: every one, as mod_headers. */
function edited(value: string, rule: HeaderRule): string {
  const pattern = regex(rule.pattern!);
  const replacement = rule.value ?? "";
  if (rule.action === "edit") {
    const match = pattern.exec(value);
    return match ? value.slice(0, match.index) + substitute(replacement, match) + value.slice(match.index + match[0].length) : value;
  }
  let out = "";
  let rest = value;
  for (let match = pattern.exec(rest); match && rest !== ""; match = pattern.exec(rest)) {
    const end = match.index + Math.max(match[0].length, 1); // an empty match moves on by a character
    out += rest.slice(0, match.index) + substitute(replacement, match) + (match[0].length ? "" : rest.slice(match.index, end));
    rest = rest.slice(end);
  }
  return out + rest;
}

/** A rule with what every request would work out again: its name lowered, its value's format. */
interface CompiledRule {
  rule: HeaderRule;
  lower: string;
  format: Format;
}

function compileRule(rule: HeaderRule): CompiledRule {
  return { rule, lower: rule.name.toLowerCase(), format: rule.action.startsWith("edit") ? "" : headerFormat(rule.value ?? "") };
}

function apply(fields: string[], compiled: CompiledRule, from: number, context: FormatContext | undefined): void {
  const { rule, lower } = compiled;
  const value = formatted(compiled.format, rule.value ?? "", context);
  const at = find(fields, lower, from);
  switch (rule.action) {
    case "set":
      remove(fields, lower, from);
      fields.push(rule.name, value);
      return;
    case "unset":
      remove(fields, lower, from);
      return;
    case "add":
      // On a request the added header is a second entry, and mod_wsgi's environ keeps the last of
      // them: the app sees the added value alone (checked against Apache 2.4.71 + mod_wsgi 4.9.4).
      if (from === 0) remove(fields, lower, from);
      fields.push(rule.name, value);
      return;
    case "append":
      if (at < 0) fields.push(rule.name, value);
      else fields[at + 1] = `${fields[at + 1]}, ${value}`;
      return;
    case "merge": {
      if (at < 0) return void fields.push(rule.name, value);
      const present = fields[at + 1]!.split(",").some((token) => token.trim() === value);
      if (!present) fields[at + 1] = `${fields[at + 1]}, ${value}`;
      return;
    }
    case "setifempty":
      // A response's empty header counts as none here; a request's is kept (checked against Apache 2.4.71).
      if (at < 0 || (from > 0 && fields[at + 1] === "")) {
        remove(fields, lower, from);
        fields.push(rule.name, value);
      }
      return;
    case "edit":
    case "edit*":
      for (let i = at; i >= 0; i = find(fields, lower, i + 2)) fields[i + 1] = edited(fields[i + 1]!, rule);
  }
}

/** The editor for a list of rules, or null when there are none. */
/** Made once per list of rules (a host's, or a merge of sections': settingsFor keeps those). */
const editors = new WeakMap<HeaderRule[], HeadEditor | null>();

export function headEditor(rules: HeaderRule[]): HeadEditor | null {
  let editor = editors.get(rules);
  if (editor === undefined) editors.set(rules, (editor = compileRules(rules)));
  return editor;
}

function compileRules(rules: HeaderRule[]): HeadEditor | null {
  if (rules.length === 0) return null;
  const all = rules.map(compileRule);
  const always = all.filter((compiled) => compiled.rule.always);
  return (fields, error, started) => {
    const context = started === undefined ? undefined : { started };
    for (const compiled of error ? always : all) apply(fields, compiled, 1, context);
  };
}

/** RequestHeader: a request's headers (name, value...) as the rules leave them, a new list. */
export type RequestEditor = (headers: string[], context: FormatContext) => string[];

const requestEditors = new WeakMap<HeaderRule[], RequestEditor>();

export function requestEditor(rules: HeaderRule[] | undefined): RequestEditor | null {
  if (!rules?.length) return null;
  let editor = requestEditors.get(rules);
  if (!editor) {
    const all = rules.map(compileRule);
    editor = (headers, context) => {
      const fields = headers.slice();
      for (const compiled of all) apply(fields, compiled, 0, context);
      return fields;
    };
    requestEditors.set(rules, editor);
  }
  return editor;
}
