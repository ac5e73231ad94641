export const VERSION = "0.1.0";
export const SERVER_SOFTWARE = `wsgi-bin/${VERSION}`;
