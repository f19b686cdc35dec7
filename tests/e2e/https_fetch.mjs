// A fetch() over node:https that trusts a given CA, for the openai SDK's `fetch` option: Node's
// built-in fetch cannot be handed a CA without undici's Agent, which is not a dependency here.
// One keep-alive agent per fetch, so tests can see connections being reused.
import https from 'node:https';
import { Readable } from 'node:stream';

export function httpsFetch(ca) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca });
  const requests = [];  // the ClientRequest of each call (reusedSocket tells about keep-alive)
  const fetchImpl = (input, init = {}) => new Promise((resolve, reject) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const headers = {};
    new Headers(init.headers ?? {}).forEach((v, k) => { headers[k] = v; });
    const req = https.request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
      const out = new Headers();
      for (const [k, v] of Object.entries(res.headers)) out.set(k, Array.isArray(v) ? v.join(', ') : v);
      resolve(new Response(Readable.toWeb(res), { status: res.statusCode, headers: out }));
    });
    requests.push(req);
    req.on('error', reject);
    init.signal?.addEventListener('abort', () => req.destroy(new DOMException('aborted', 'AbortError')));
    req.end(init.body ?? undefined);
  });
  return { fetch: fetchImpl, agent, requests };
}
