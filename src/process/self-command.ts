// The command line that runs this same program again: the executable alone when compiled (its
// entry point is inside it), or bun plus the entry script when run from source.
export function selfCommand(args: string[]): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/");
  return compiled ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}

/** Set in the environment of the processes a supervisor starts: the process's slot number. */
export const PROCESS_SLOT_ENV = "WSGI_BIN_PROCESS_SLOT";
