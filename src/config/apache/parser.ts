// Reads httpd.conf files into a tree of directives and sections, each with its file and line.
// What httpd settles while reading is settled here too: Define/UnDefine and ${VAR}, the
// conditional sections (<IfDefine>, <IfModule>, <IfFile>, <IfDirective>, <IfSection>, whose body is
// read only when they hold), Include/IncludeOptional and ServerRoot. The tree keeps every other
// directive and section, known to wsgi-bin or not, for the mapping to the site model to judge.
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigError, type Diagnostics, type Source } from "../diagnostics.ts";
import { expandInclude, hasWildcard } from "./include.ts";
import { logicalLines, splitWords, type Line } from "./lexer.ts";
import { hasModule } from "./modules.ts";

export interface DirectiveNode {
  kind: "directive";
  name: string;
  args: string[];
  source: Source;
}

export interface SectionNode {
  kind: "section";
  /** Without the angle brackets: "VirtualHost". */
  name: string;
  args: string[];
  children: ConfigNode[];
  source: Source;
}

export type ConfigNode = DirectiveNode | SectionNode;

export interface ParseOptions {
  /** -D NAME: parameters <IfDefine> tests. */
  defines: string[];
  diagnostics: Diagnostics;
  /** For <IfDirective> and <IfSection>: what wsgi-bin implements. */
  isKnownDirective: (name: string) => boolean;
  isKnownSection: (name: string) => boolean;
  /** Variables ${VAR} falls back on (httpd uses its environment). */
  environment?: Record<string, string | undefined>;
}

export interface ParsedConfig {
  nodes: ConfigNode[];
  /** Every file read, the main one first. */
  files: string[];
  /** The last ServerRoot directive's directory, when there is one. */
  serverRoot?: string;
  /** Variables defined with Define NAME VALUE, as they stand at the end. */
  variables: Map<string, string>;
  defines: Set<string>;
}

const CONDITIONALS = new Set(["ifdefine", "ifmodule", "iffile", "ifdirective", "ifsection"]);
const MAX_INCLUDE_DEPTH = 32;

class Parser {
  readonly defines: Set<string>;
  readonly variables = new Map<string, string>();
  readonly files: string[] = [];
  serverRoot?: string;
  private readonly including: string[] = [];

  constructor(private readonly options: ParseOptions) {
    this.defines = new Set(options.defines);
  }

  parseFile(file: string, from?: Source): ConfigNode[] {
    if (this.including.includes(file)) {
      throw new ConfigError(from, `Include loop: ${[...this.including, file].join(" -> ")}`);
    }
    if (this.including.length >= MAX_INCLUDE_DEPTH) throw new ConfigError(from, `Includes nested more than ${MAX_INCLUDE_DEPTH} deep`);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(from, `cannot read configuration file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    this.files.push(file);
    this.including.push(file);
    const lines = logicalLines(text, file);
    const [nodes] = this.parseBlock(lines, 0, undefined);
    this.including.pop();
    return nodes;
  }

  /** Parses lines from `index` until the end of `open` (or of the file); returns the nodes and the index after. */
  private parseBlock(lines: Line[], index: number, open: { name: string; source: Source } | undefined): [ConfigNode[], number] {
    const nodes: ConfigNode[] = [];
    let i = index;
    while (i < lines.length) {
      const line = lines[i]!;
      const text = this.substitute(line.text, line.source);
      if (text.startsWith("</")) {
        const name = closingName(text, line.source);
        if (!open) throw new ConfigError(line.source, `</${name}> without a matching <${name}> section`);
        if (name.toLowerCase() !== open.name.toLowerCase()) {
          throw new ConfigError(line.source, `expected </${open.name}> (for the section opened at line ${open.source.line}) but saw </${name}>`);
        }
        return [nodes, i + 1];
      }
      if (text.startsWith("<")) {
        const { name, args } = openingTag(text, line.source);
        if (CONDITIONALS.has(name.toLowerCase())) {
          if (this.holds(name, args, line.source)) {
            const [children, next] = this.parseBlock(lines, i + 1, { name, source: line.source });
            nodes.push(...children);
            i = next;
          } else {
            i = skipSection(lines, i + 1, { name, source: line.source });
          }
          continue;
        }
        const [children, next] = this.parseBlock(lines, i + 1, { name, source: line.source });
        nodes.push({ kind: "section", name, args, children, source: line.source });
        i = next;
        continue;
      }
      const words = splitWords(text, line.source);
      const name = words[0]!;
      const args = words.slice(1);
      i++;
      switch (name.toLowerCase()) {
        case "define":
          this.define(args, line.source);
          break;
        case "undefine":
          if (args.length !== 1) throw new ConfigError(line.source, "UnDefine takes one argument, a parameter name");
          this.defines.delete(args[0]!);
          this.variables.delete(args[0]!);
          break;
        case "include":
        case "includeoptional":
          nodes.push(...this.include(name, args, line.source));
          break;
        case "serverroot":
          if (args.length !== 1) throw new ConfigError(line.source, "ServerRoot takes one argument, a directory");
          if (open) throw new ConfigError(line.source, `ServerRoot cannot occur within <${open.name}> section`);
          this.serverRoot = resolve(dirname(line.source.file), args[0]!);
          nodes.push({ kind: "directive", name, args, source: line.source });
          break;
        default:
          nodes.push({ kind: "directive", name, args, source: line.source });
      }
    }
    if (open) {
      throw new ConfigError(open.source, `<${open.name}> section is never closed: expected </${open.name}> before the end of the file`);
    }
    return [nodes, i];
  }

  private define(args: string[], source: Source): void {
    if (args.length < 1 || args.length > 2) throw new ConfigError(source, "Define takes one or two arguments: NAME [VALUE]");
    const name = args[0]!;
    if (name.includes(":") || name.includes("$") || name.includes("{")) {
      throw new ConfigError(source, `Define: variable name '${name}' must not contain ':', '$' or '{'`);
    }
    this.defines.add(name);
    if (args.length === 2) this.variables.set(name, args[1]!);
  }

  /** ${VAR}: a Define'd variable, else the environment; an undefined one stays as written, with a warning. */
  private substitute(text: string, source: Source): string {
    if (!text.includes("${")) return text;
    return text.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
      const value = this.variables.get(name) ?? (this.options.environment ?? process.env)[name];
      if (value !== undefined) return value;
      this.options.diagnostics.warn(source, `config variable \${${name}} is not defined`);
      return whole;
    });
  }

  private holds(section: string, args: string[], source: Source): boolean {
    if (args.length !== 1 || args[0] === "" || args[0] === "!") {
      throw new ConfigError(source, `<${section}> takes one argument${section.toLowerCase() === "ifdefine" ? ", a parameter name" : ""}`);
    }
    const negated = args[0]!.startsWith("!");
    const subject = negated ? args[0]!.slice(1) : args[0]!;
    let result: boolean;
    switch (section.toLowerCase()) {
      case "ifdefine":
        result = this.defines.has(subject);
        break;
      case "ifmodule":
        result = hasModule(subject);
        break;
      case "iffile":
        result = existsSync(isAbsolute(subject) ? subject : resolve(this.base(source), subject));
        break;
      case "ifdirective":
        result = this.options.isKnownDirective(subject);
        break;
      default: // ifsection
        result = this.options.isKnownSection(subject);
    }
    return negated ? !result : result;
  }

  /** Relative paths in a file: ServerRoot when one was given, else the file's own directory. */
  base(source: Source): string {
    return this.serverRoot ?? dirname(source.file);
  }

  private include(directive: string, args: string[], source: Source): ConfigNode[] {
    if (args.length !== 1) throw new ConfigError(source, `${directive} takes one argument, a file, directory or wildcard`);
    const optional = directive.toLowerCase() === "includeoptional";
    const expansion = expandInclude(args[0]!, this.base(source));
    if (expansion.missing) {
      if (optional) return [];
      const hint = hasWildcard(args[0]!) ? " (IncludeOptional allows that)" : "";
      throw new ConfigError(source, `Include: ${expansion.missing}${hint}`);
    }
    return expansion.files.flatMap((file) => this.parseFile(file, source));
  }
}

/** `<Name args>` -> name and args; a missing `>` is an error, as in httpd. */
function openingTag(text: string, source: Source): { name: string; args: string[] } {
  const match = /^<([^\s>]+)(.*)$/.exec(text);
  if (!match || match[1] === "") throw new ConfigError(source, `malformed section line: ${text}`);
  const name = match[1]!;
  const rest = match[2]!.trimEnd();
  if (!rest.endsWith(">")) throw new ConfigError(source, `<${name}> directive missing closing '>'`);
  return { name, args: splitWords(rest.slice(0, -1), source) };
}

function closingName(text: string, source: Source): string {
  const match = /^<\/([^\s>]+)\s*>$/.exec(text);
  if (!match) throw new ConfigError(source, `malformed closing line: ${text}`);
  return match[1]!;
}

/** Skips a section whose condition is false: its body is not read, only its nesting counted. */
function skipSection(lines: Line[], index: number, open: { name: string; source: Source }): number {
  let depth = 1;
  for (let i = index; i < lines.length; i++) {
    const text = lines[i]!.text;
    if (text.startsWith("</")) depth--;
    else if (text.startsWith("<")) depth++;
    if (depth === 0) {
      const name = closingName(text, lines[i]!.source);
      if (name.toLowerCase() !== open.name.toLowerCase()) {
        throw new ConfigError(lines[i]!.source, `expected </${open.name}> (for the section opened at line ${open.source.line}) but saw </${name}>`);
      }
      return i + 1;
    }
  }
  throw new ConfigError(open.source, `<${open.name}> section is never closed: expected </${open.name}> before the end of the file`);
}

export function parseConfig(file: string, options: ParseOptions): ParsedConfig {
  const parser = new Parser(options);
  const nodes = parser.parseFile(resolve(file));
  return { nodes, files: parser.files, serverRoot: parser.serverRoot, variables: parser.variables, defines: parser.defines };
}
