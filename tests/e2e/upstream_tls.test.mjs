// End-to-end: an https upstream. Instance B (plain HTTP) sits behind a TLS-terminating proxy
// (node's https module with the test certificate in tests/data/tls); instance A forwards to it
// over https, trusting the certificate through `ca_file`. A second upstream entry without
// `ca_file` must refuse the same server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

import { API_KEY, defaultModelPath, freePort, skipReason, startServerWithConfig } from './server.mjs';

const skip = skipReason();
const tlsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'data', 'tls');

// Forwards every request to `target` (http://127.0.0.1:port) and pipes the answer back as it
// arrives, so SSE stays incremental through the proxy.
function startTlsProxy(targetPort) {
  const seen = [];
  const server = https.createServer({
    key: readFileSync(path.join(tlsDir, 'localhost.key')),
    cert: readFileSync(path.join(tlsDir, 'localhost.pem')),
  }, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen, port: server.address().port })));
}

describe('https upstream through a TLS proxy', { skip: skip ?? false, timeout: 300_000 }, () => {
  let b;
  let a;
  let proxy;
  let clientA;
  let clientB;

  before(async () => {
    const bPort = await freePort();
    b = await startServerWithConfig({
      server: { host: '127.0.0.1', port: bPort, api_keys: ['sk-b'] },
      engine: { kv_budget_bytes: 64 * 1024 * 1024 },
      models: [{ id: 'smol-b', path: defaultModelPath() }],
    });
    proxy = await startTlsProxy(bPort);
    const upstream = { base_url: `https://localhost:${proxy.port}/v1`, api_key: 'sk-b', model: 'smol-b', retries: 0 };
    const aPort = await freePort();
    a = await startServerWithConfig({
      server: { host: '127.0.0.1', port: aPort, api_keys: [API_KEY] },
      models: [
        { id: 'remote-tls', upstream: { ...upstream, ca_file: path.join(tlsDir, 'localhost.pem') } },
        { id: 'remote-untrusted', upstream },
      ],
    });
    clientA = new OpenAI({ apiKey: API_KEY, baseURL: `${a.baseURL}/v1`, maxRetries: 0 });
    clientB = new OpenAI({ apiKey: 'sk-b', baseURL: `${b.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    proxy?.server.close();
    for (const s of [a, b]) if (s) assert.equal(await s.stop(), 0, s.log());
  });

  const ask = (model, extra = {}) => ({
    model, temperature: 0, max_tokens: 16,
    messages: [{ role: 'user', content: 'Name three colors.' }], ...extra,
  });

  test('answers through https equal the upstream\'s own, streamed and not', async () => {
    const direct = (await clientB.chat.completions.create(ask('smol-b'))).choices[0].message.content;
    const viaTls = await clientA.chat.completions.create(ask('remote-tls'));
    assert.equal(viaTls.model, 'remote-tls');
    assert.equal(viaTls.choices[0].message.content, direct);
    let streamed = '';
    let chunks = 0;
    for await (const c of await clientA.chat.completions.create(ask('remote-tls', { stream: true }))) {
      streamed += c.choices[0]?.delta?.content ?? '';
      chunks += 1;
    }
    assert.equal(streamed, direct);
    assert.ok(chunks > 3, 'relayed chunk by chunk');
    assert.ok(proxy.seen.filter((s) => s === 'POST /v1/chat/completions').length >= 2, proxy.seen.join(','));
  });

  test('a server whose certificate is not trusted is refused with a 502 naming the reason', async () => {
    const before = proxy.seen.length;
    await assert.rejects(clientA.chat.completions.create(ask('remote-untrusted')), (e) => {
      assert.equal(e.status, 502);
      assert.equal(e.error?.type ?? e.type, 'upstream_error');
      assert.match(e.message, /certificate verify failed/);
      return true;
    });
    assert.equal(proxy.seen.length, before, 'no request reached the untrusted server');
  });
});
