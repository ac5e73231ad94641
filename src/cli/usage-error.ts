// A command line wsgi-bin cannot run: main.ts prints the message and exits with status 2.
export class UsageError extends Error {}
