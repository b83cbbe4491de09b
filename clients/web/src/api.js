// The browser's one way to call the JSON API: same-origin cookie, and on writes the staff
// session's CSRF token (read once from /api/auth/me; residents have none). An error answer
// becomes an Error carrying the server's message, code and status.
let csrf; // undefined: not asked yet; null: no staff session

export async function whoami() {
  try {
    const r = await fetch(new URL('api/auth/me', document.baseURI), { credentials: 'same-origin' });
    const d = r.ok ? await r.json() : null;
    csrf = d?.csrf ?? null;
    return d;
  } catch (e) {
    csrf = null;
    return null;
  }
}

export async function apiJson(url, opts = {}) {
  const write = opts.method && opts.method !== 'GET';
  if (write && csrf === undefined) await whoami();
  const headers = { ...(opts.headers || {}), ...(write && csrf ? { 'X-CSRF-Token': csrf } : {}) };
  const r = await fetch(new URL(url, document.baseURI), { credentials: 'same-origin', ...opts, headers });
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) {
    const err = new Error(body?.error?.message || `${r.status} ${r.statusText}`);
    err.code = body?.error?.code;
    err.status = r.status;
    throw err;
  }
  return body;
}
