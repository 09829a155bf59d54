// The console's client of the public API. The access token lives in this module's memory
// only; the refresh token is an HttpOnly cookie the page cannot read, sent only to
// `<console>/session/*`. Tokens never appear in a URL.

let accessToken = null;
let workspaceId = sessionStorage.getItem('astra.workspace') || null;
const listeners = new Set();

/** Error of a failed API call: `status`, `code`, `message`, `details` (field -> problem). */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || 'HTTP_' + status;
    this.details = (body && body.details) || {};
  }
}

export const auth = {
  get signedIn() { return accessToken !== null; },
  get workspaceId() { return workspaceId; },
  setWorkspace(id) {
    workspaceId = id;
    if (id) sessionStorage.setItem('astra.workspace', id);
    else sessionStorage.removeItem('astra.workspace');
    notify();
  },
  onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); },
};

function notify() { for (const fn of listeners) fn(); }

async function session(path, body) {
  const r = await fetch(`session/${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-Astra-Console': '1',
      ...(accessToken && path === 'logout' ? { Authorization: `Bearer ${accessToken}` } : {}) },
    body: JSON.stringify(body || {}),
  });
  const json = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

/** Signs in (or registers, with `register`); returns the user. */
export async function signIn(email, password, register) {
  const out = await session(register ? 'register' : 'login', { email, password });
  accessToken = out.accessToken;
  notify();
  return out.user;
}

/** Restores a session from the refresh cookie; false when there is none. */
export async function resume() {
  try {
    accessToken = (await session('refresh')).accessToken;
    notify();
    return true;
  } catch {
    return false;
  }
}

let refreshing = null;
async function refreshOnce() {
  refreshing = refreshing || session('refresh').then((o) => { accessToken = o.accessToken; })
    .finally(() => { refreshing = null; });
  return refreshing;
}

/** Revokes every token of the user and clears the cookie. */
export async function signOut() {
  try { await session('logout'); } catch { /* the cookie is cleared below anyway */ }
  accessToken = null;
  auth.setWorkspace(null);
  notify();
}

function headers(extra) {
  const h = { Accept: 'application/json', ...extra };
  if (accessToken) h.Authorization = `Bearer ${accessToken}`;
  if (workspaceId) h['X-Workspace-Id'] = workspaceId;
  return h;
}

/** Raw fetch with the bearer token and workspace; one refresh and retry on 401. */
export async function raw(method, path, body, init = {}) {
  const go = () => fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
    // Revalidate (ETag) instead of reusing a list the API marks cacheable for 30 s.
    cache: 'no-cache',
    ...init,
  });
  let r = await go();
  if (r.status === 401 && accessToken) {
    try {
      await refreshOnce();
    } catch {
      accessToken = null;
      notify();
      return r;
    }
    r = await go();
  }
  return r;
}

/** JSON call; throws ApiError on a non-2xx answer. */
export async function api(method, path, body) {
  const r = await raw(method, path, body);
  if (r.status === 204) return null;
  const json = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

export const get = (path) => api('GET', path);

/** Query string from an object, skipping empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * POSTs to an SSE endpoint and calls `onEvent(name, data)` per event, as the bytes arrive
 * (EventSource cannot POST, so this is fetch + ReadableStream). Abort with `signal`.
 */
export async function stream(path, body, onEvent, signal) {
  const r = await raw('POST', path, body, { signal });
  if (!r.ok) {
    const json = await r.json().catch(() => null);
    throw new ApiError(r.status, json);
  }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (!data.length) continue;
      let parsed;
      try { parsed = JSON.parse(data.join('\n')); } catch { parsed = data.join('\n'); }
      onEvent(name, parsed);
    }
  }
}
