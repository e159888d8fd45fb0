/**
 * The answers the controller gives itself instead of a backend's, one row per
 * failure (ingress-nginx's status codes), each with a short plain-text body
 * naming the host and path so a user with curl sees what went wrong.
 */

export type ProxyErrorCode = 'NO_ROUTE' | 'NO_ENDPOINTS' | 'UPSTREAM_FAILED' | 'UPSTREAM_TIMEOUT' | 'HEADERS_TOO_LARGE' | 'BAD_REQUEST';

export const PROXY_ERRORS: Record<ProxyErrorCode, { status: number; title: string }> = {
  NO_ROUTE: { status: 404, title: 'Not Found' },
  NO_ENDPOINTS: { status: 503, title: 'Service Temporarily Unavailable' },
  UPSTREAM_FAILED: { status: 502, title: 'Bad Gateway' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'Gateway Timeout' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request Header Fields Too Large' },
  BAD_REQUEST: { status: 400, title: 'Bad Request' },
};

/** A failure on the way to a backend, carrying what the client is told. */
export class ProxyError extends Error {
  readonly status: number;
  constructor(
    readonly code: ProxyErrorCode,
    readonly detail: string,
  ) {
    super(detail);
    this.status = PROXY_ERRORS[code].status;
  }
}

/** "503 Service Temporarily Unavailable\nhost: x.com\npath: /api\n<detail>\n" */
export function errorBody(code: ProxyErrorCode, host: string, path: string, detail: string): string {
  const e = PROXY_ERRORS[code];
  return `${e.status} ${e.title}\nhost: ${host || '(none)'}\npath: ${path}\n${detail}\n`;
}

/** A complete HTTP/1.1 error response for a socket the HTTP parser gave up on. */
export function rawErrorResponse(code: ProxyErrorCode, detail: string): string {
  const e = PROXY_ERRORS[code];
  const body = `${e.status} ${e.title}\n${detail}\n`;
  return `HTTP/1.1 ${e.status} ${e.title}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
