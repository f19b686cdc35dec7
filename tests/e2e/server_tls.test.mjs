// End-to-end: Toolgate itself serving HTTPS (server.tls) with a certificate from a CA made at
// test time with `openssl`; the openai SDK talks to it trusting only that CA.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import OpenAI from 'openai';

import { API_KEY, defaultModelPath, freePort, skipReason, startServerWithConfig } from './server.mjs';
import { hasOpenssl, makeTestCa } from './test_ca.mjs';
import { httpsFetch } from './https_fetch.mjs';

const skip = skipReason() ?? (hasOpenssl() ? null : 'the openssl command is not installed');

async function configFor(ca, tlsSection) {
  const port = await freePort();
  return {
    server: { host: '127.0.0.1', port, api_keys: [API_KEY], tls: tlsSection ?? { cert: ca.certFile, key: ca.keyFile } },
    engine: { kv_budget_bytes: 64 * 1024 * 1024 },
    models: [{ id: 'smol', path: defaultModelPath() }],
  };
}

// Opens a TLS connection with the given options; resolves with the negotiated protocol or
// rejects with the handshake error.
function handshake(port, options) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => {
      const protocol = socket.getProtocol();
      socket.end();
      resolve(protocol);
    });
    socket.on('error', reject);
  });
}

describe('HTTPS server (server.tls)', { skip: skip ?? false, timeout: 300_000 }, () => {
  let ca;
  let server;
  let client;
  let transport;

  before(async () => {
    ca = makeTestCa();
    const config = await configFor(ca);
    server = await startServerWithConfig(config, { tls: { ca: ca.caPem } });
    transport = httpsFetch(ca.caPem);
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0, fetch: transport.fetch });
  });

  after(async () => {
    transport?.agent.destroy();
    if (server) assert.equal(await server.stop(), 0, server.log());
  });

  const ask = (extra = {}) => ({
    model: 'smol', temperature: 0, max_tokens: 12,
    messages: [{ role: 'user', content: 'Name three colors.' }], ...extra,
  });

  test('a chat completion over https, then a second one on the same kept-alive connection', async () => {
    const first = await client.chat.completions.create(ask());
    assert.equal(first.object, 'chat.completion');
    assert.ok(first.choices[0].message.content.length > 0);
    const second = await client.chat.completions.create(ask());
    assert.equal(second.choices[0].message.content, first.choices[0].message.content);
    assert.equal(transport.requests.at(-1).reusedSocket, true, 'the second request reused the TLS connection');
  });

  test('a streamed chat completion over https arrives as SSE chunks equal to the plain answer', async () => {
    const plain = (await client.chat.completions.create(ask())).choices[0].message.content;
    let text = '';
    let chunks = 0;
    let finish = null;
    for await (const chunk of await client.chat.completions.create(ask({ stream: true }))) {
      chunks += 1;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(chunks > 2, `expected several chunks, got ${chunks}`);
    assert.equal(text, plain);
    assert.ok(finish === 'stop' || finish === 'length');
  });

  test('a client that does not trust the CA is refused by its own verification', async () => {
    await assert.rejects(handshake(server.port, {}), /self-signed|unable to (get|verify)|certificate/i);
  });

  test('plain HTTP sent to the TLS port gets a clear 400 and the server keeps serving', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /HTTPS/);
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['smol']);
  });

  test('TLS 1.2 and 1.3 are both accepted by default; nothing older is', async () => {
    assert.equal(await handshake(server.port, { ca: ca.caPem, maxVersion: 'TLSv1.2' }), 'TLSv1.2');
    assert.equal(await handshake(server.port, { ca: ca.caPem }), 'TLSv1.3');
    await assert.rejects(handshake(server.port, { ca: ca.caPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
  });
});

describe('HTTPS server settings', { skip: skip ?? false, timeout: 300_000 }, () => {
  let ca;
  before(() => { ca = makeTestCa(); });

  test('min_version 1.3 refuses a TLS 1.2 client and serves a TLS 1.3 one', async () => {
    const config = await configFor(ca, { cert: ca.certFile, key: ca.keyFile, min_version: '1.3' });
    const server = await startServerWithConfig(config, { tls: { ca: ca.caPem } });
    try {
      await assert.rejects(handshake(server.port, { ca: ca.caPem, maxVersion: 'TLSv1.2' }), /version|alert/i);
      assert.equal(await handshake(server.port, { ca: ca.caPem }), 'TLSv1.3');
    } finally {
      assert.equal(await server.stop(), 0, server.log());
    }
  });

  test('a missing certificate file is a start-up error naming the file', async () => {
    const missing = `${ca.dir}/nope.pem`;
    const config = await configFor(ca, { cert: missing, key: ca.keyFile });
    await assert.rejects(startServerWithConfig(config, { tls: { ca: ca.caPem } }),
      (e) => e.message.includes('exited early') && e.message.includes(missing) && e.message.includes('server.tls.cert'));
  });

  test('a key that does not match the certificate is a start-up error naming the key file', async () => {
    const config = await configFor(ca, { cert: ca.certFile, key: ca.strayKeyFile });
    await assert.rejects(startServerWithConfig(config, { tls: { ca: ca.caPem } }),
      (e) => e.message.includes('exited early') && e.message.includes(ca.strayKeyFile) && /match|mismatch/i.test(e.message));
  });

  test('a file that is not PEM is a start-up error naming it', async () => {
    const config = await configFor(ca, { cert: ca.keyFile.replace('server.key', 'server.ext'), key: ca.keyFile });
    await assert.rejects(startServerWithConfig(config, { tls: { ca: ca.caPem } }),
      (e) => e.message.includes('exited early') && e.message.includes('server.ext'));
  });
});
