// The library's errors: one class per thing that can go wrong, each message saying what to do.
// `instanceof` works on them, and so does `error.code` for hosts that cannot share classes.

export class WsgiBinError extends Error {
  readonly code: string = "WSGI_BIN_ERROR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The options given to createServer() are wrong (an alias without "/", a bad number...). */
export class ConfigurationError extends WsgiBinError {
  override readonly code = "WSGI_BIN_CONFIGURATION";
}

/** No usable shared libpython (3.9 to 3.13) was found. */
export class PythonNotFoundError extends WsgiBinError {
  override readonly code = "WSGI_BIN_PYTHON_NOT_FOUND";
}

/** A WSGI script could not be loaded: missing, or it raised while it was executed. */
export class ScriptLoadError extends WsgiBinError {
  override readonly code = "WSGI_BIN_SCRIPT_LOAD";
  constructor(
    message: string,
    /** The script's path. */
    readonly script: string,
    /** The application group it was loaded into ("" is the main interpreter). */
    readonly applicationGroup: string,
    /** The exception's last line ("ModuleNotFoundError: No module named 'flask'"), or "no such file". */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** listen() could not listen (the port is taken, the address is not this machine's...). */
export class ListenError extends WsgiBinError {
  override readonly code = "WSGI_BIN_LISTEN";
}

/** The server was closed: it takes no more requests. */
export class ServerClosedError extends WsgiBinError {
  override readonly code = "WSGI_BIN_CLOSED";
}

/** This JavaScript runtime cannot run the server (Node older than 20, a missing feature). */
export class UnsupportedRuntimeError extends WsgiBinError {
  override readonly code = "WSGI_BIN_UNSUPPORTED_RUNTIME";
}
