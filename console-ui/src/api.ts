// The console API client: same-origin fetch with the session cookie, Higress's wrapper
// unwrapped, and errors as `ApiError` (status + the server's message).

/** A failed API call: HTTP status and the `message` of the `{success:false}` body. */
export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
  /** True for 409: the resource changed since it was read, or already exists. */
  get conflict(): boolean {
    return this.status === 409;
  }
}

/** Called on a 401 outside the login pages. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const resp = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!resp.ok) {
    if (resp.status === 401 && !path.startsWith('/session/')) onUnauthorized();
    const message = (json && typeof json.message === 'string' && json.message) || text || resp.statusText;
    throw new ApiError(resp.status, message);
  }
  if (json && typeof json === 'object' && 'success' in json && 'data' in json) return json.data as T;
  return json as T;
}

export const get = <T>(path: string) => call<T>('GET', path);
export const post = <T>(path: string, body: unknown) => call<T>('POST', path, body);
export const put = <T>(path: string, body: unknown) => call<T>('PUT', path, body);
export const del = (path: string) => call<unknown>('DELETE', path);

/** `encodeURIComponent` for one path segment. */
export const seg = encodeURIComponent;

/** The console's Domain. */
export interface Domain {
  name: string;
  version?: string | null;
  enableHttps?: string | null;
  certIdentifier?: string | null;
}

/** A path/header/query predicate. */
export interface Predicate {
  key?: string;
  matchType: string;
  matchValue: string;
  caseSensitive?: boolean | null;
}

/** One weighted upstream service. */
export interface UpstreamService {
  name: string;
  port?: number | null;
  version?: string | null;
  weight?: number | null;
}

/** The console's Route (only the fields this UI edits are typed; others are kept). */
export interface Route {
  name: string;
  version?: string | null;
  domains?: string[];
  path?: Predicate | null;
  methods?: string[] | null;
  headers?: Predicate[] | null;
  urlParams?: Predicate[] | null;
  services?: UpstreamService[];
  readonly?: boolean;
  [k: string]: unknown;
}

/** The console's ServiceSource. */
export interface ServiceSource {
  name: string;
  version?: string | null;
  type: string;
  domain: string;
  port?: number | null;
  protocol?: string | null;
  properties?: Record<string, unknown> | null;
  [k: string]: unknown;
}

/** A diagnostic from `/v1/gantry/status`. */
export interface Diagnostic {
  severity: string;
  source: string;
  resource?: [string, string] | null;
  field?: string | null;
  message: string;
}

/** `/v1/gantry/status`. */
export interface Status {
  store: string;
  storeState: { state: string; message?: string };
  revision: number;
  appliedRevision?: number | null;
  routes: number;
  stale: { kind: string; name: string; source: string }[];
  restoredFrom?: string;
  diagnostics: Diagnostic[];
}

/** One compiled route, from `/v1/gantry/route-table`. */
export interface RouteInfo {
  host: string;
  match_type: string;
  path: string;
  ignore_case: boolean;
  conditions?: string[];
  ingress: string;
  action:
    | { type: 'forward'; destinations: { weight: number; name: string; target: string; endpoints: string[] }[] }
    | { type: 'redirect'; code: number; to: string };
}

/** `/v1/gantry/route-table`: the live table, or null when the gateway does not report it. */
export interface RouteTable {
  revision?: number | null;
  routes: RouteInfo[] | null;
}
