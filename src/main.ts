// The wsgi-bin command: parse flags, start serving, stop on SIGTERM/SIGINT.
import { hostname } from "node:os";
import { HELP, parseArgs, UsageError, type Command } from "./cli/args.ts";
import { PythonNotFound } from "./ffi/find-python.ts";
import { startServer } from "./server.ts";
import { VERSION } from "./version.ts";

function main(argv: string[]): void {
  let command: Command;
  try {
    command = parseArgs(argv, hostname());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`wsgi-bin: ${error.message}\nTry 'wsgi-bin --help'.\n`);
    process.exit(2);
  }
  if (command.kind === "help") {
    process.stdout.write(HELP);
    return;
  }
  if (command.kind === "version") {
    process.stdout.write(`wsgi-bin ${VERSION}\n`);
    return;
  }
  let running;
  try {
    running = startServer(command.config);
  } catch (error) {
    const message = error instanceof PythonNotFound || (error as { code?: string }).code === "EADDRINUSE"
      ? (error as Error).message
      : (error as Error).stack ?? String(error);
    process.stderr.write(`wsgi-bin: ${message}\n`);
    process.exit(1);
  }
  const stop = (signal: string) => {
    running.errorLog.notice(`Caught ${signal}, shutting down.`);
    running.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main(process.argv.slice(2));
