/** A process cannot start for a reason its message says in full (no stack trace wanted in the log). */
export class StartupError extends Error {}
