// End-to-end: live reload. A front toolgate forwards `pooled` to replica A; under steady load,
// its config file is rewritten to add replica B and raise a key's limit, and SIGHUP applies it:
// B gets traffic, answers carry the new limit, and no request fails. Then a broken file is sent
// to POST /admin/reload (admin key only): refused with every problem at file:line, while the
// old config keeps serving.
// Local models: a reload adds a second model id on the same GGUF (other settings, its own engine)
// while the unchanged model's engine keeps running (its counters go on); removing the added
// model while streams to it are in flight lets them finish, and new requests get 404; a model
// whose file cannot be loaded refuses the whole reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';

import {
  defaultModelPath, freePort, skipReason, startServerFromConfig, startServerWithConfig,
} from './server.mjs';

const skip = skipReason();
const ALICE = 'sk-alice-reload';
const OPS = 'sk-ops-reload';

function replicaConfig(port) {
  return {
    server: { host: '127.0.0.1', port, max_concurrent_requests: 16, max_queue: 64 },
    engine: { kv_budget_bytes: 64 * 1024 * 1024, threads: 1 },
    models: [{ id: 'smol', path: defaultModelPath() }],
  };
}

function frontConfig(members, aliceRpm) {
  return {
    server: {
      host: '127.0.0.1', port: 1, max_concurrent_requests: 32, max_queue: 128,
      keys: [
        { name: 'alice', key: ALICE, requests_per_minute: aliceRpm },
        { name: 'ops', key: OPS, admin: true },
      ],
    },
    models: [{
      id: 'pooled',
      upstream: { model: 'smol', retries: 1, members: members.map((r) => ({ base_url: `${r.baseURL}/v1` })) },
    }],
  };
}

async function upstreamRequests(front, replica) {
  const text = await (await fetch(`${front.baseURL}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('toolgate:upstream_requests_total{') &&
    l.includes(`upstream="${replica.baseURL}/v1"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('live reload of pools and keys', { skip: skip ?? false, timeout: 180_000 }, () => {
  let a;
  let b;
  let front;
  let file;

  before(async () => {
    [a, b] = await Promise.all([
      startServerWithConfig(replicaConfig(await freePort())),
      startServerWithConfig(replicaConfig(await freePort())),
    ]);
    file = path.join(mkdtempSync(path.join(os.tmpdir(), 'toolgate-reload-')), 'toolgate.yaml');
    writeFileSync(file, JSON.stringify(frontConfig([a], 6000), null, 2));
    front = await startServerFromConfig(file);  // --port overrides the file's, on reload too
  });

  after(async () => {
    for (const s of [front, a, b]) {
      if (!s) continue;
      const code = await s.stop();
      assert.equal(code, 0, s.log());
    }
  });

  test('SIGHUP adds a replica and changes a limit under load; a broken file is refused', async () => {
    const client = new OpenAI({ apiKey: ALICE, baseURL: `${front.baseURL}/v1`, maxRetries: 0 });
    const failures = [];
    const limits = new Set();
    let done = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const { response } = await client.chat.completions
            .create({ model: 'pooled', messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 2 })
            .withResponse();
          limits.add(response.headers.get('x-ratelimit-limit-requests'));
          ++done;
        } catch (e) {
          failures.push(String(e?.message ?? e));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, worker));
    try {
      while (done < 8) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await upstreamRequests(front, b), 0);

      writeFileSync(file, JSON.stringify(frontConfig([a, b], 9000), null, 2));
      front.kill('SIGHUP');  // not awaited: resolves when the process exits
      const deadline = Date.now() + 30_000;
      while (await upstreamRequests(front, b) < 3 || !limits.has('9000')) {
        assert.ok(Date.now() < deadline, `reload not seen: ${[...limits]}\n${front.log().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }

      // A broken file: refused with each problem at file:line; the old config keeps serving.
      const broken = frontConfig([a, b], 9000);
      broken.models[0].upstream.policy = 'fastest';
      broken.models[0].upstream.members[1].base_url = 'ftp://nowhere';
      writeFileSync(file, JSON.stringify(broken, null, 2));
      const denied = await fetch(`${front.baseURL}/admin/reload`, {
        method: 'POST', headers: { Authorization: `Bearer ${ALICE}` },
      });
      assert.equal(denied.status, 403);
      const r = await fetch(`${front.baseURL}/admin/reload`, {
        method: 'POST', headers: { Authorization: `Bearer ${OPS}` },
      });
      const body = await r.json();
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(body.reloaded, false);
      assert.equal(body.errors.length, 2, JSON.stringify(body.errors));
      for (const e of body.errors) assert.match(e, /toolgate\.yaml:\d+:\d+: models\[0\]\.upstream\./);
      const before = done;
      while (done < before + 8) await new Promise((r) => setTimeout(r, 50));
      assert.ok(front.log().includes('config reload refused'));

      // A good file again through the endpoint.
      writeFileSync(file, JSON.stringify(frontConfig([a, b], 9000), null, 2));
      const ok = await fetch(`${front.baseURL}/admin/reload`, {
        method: 'POST', headers: { Authorization: `Bearer ${OPS}` },
      });
      assert.equal(ok.status, 200);
    } finally {
      stop = true;
      await load;
    }
    console.log(`reload under load: ${done} requests, ${failures.length} failed`);
    assert.deepEqual(failures, []);
  });
});

function localConfig({ second = false, broken = null } = {}) {
  const models = [{ id: 'smol', path: defaultModelPath() }];
  // The same file with other engine settings: an engine (and KV cache) of its own.
  if (second) models.push({ id: 'smol-short', path: defaultModelPath(), context_length: 1024 });
  if (broken) models.push({ id: 'broken', path: broken });
  return {
    server: {
      host: '127.0.0.1', port: 1, max_concurrent_requests: 16, max_queue: 64,
      keys: [{ name: 'ops', key: OPS, admin: true }],
    },
    engine: { kv_budget_bytes: 32 * 1024 * 1024, threads: 1 },
    models,
  };
}

async function generatedTokens(server, model) {
  const text = await (await fetch(`${server.baseURL}/metrics`, { headers: { Authorization: `Bearer ${OPS}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`toolgate:generation_tokens_total{model_name="${model}"}`));
  return line ? Number(line.split(' ').pop()) : null;
}

async function reload(server) {
  const r = await fetch(`${server.baseURL}/admin/reload`, { method: 'POST', headers: { Authorization: `Bearer ${OPS}` } });
  return { status: r.status, body: await r.json() };
}

describe('live reload of local models', { skip: skip ?? false, timeout: 300_000 }, () => {
  let server;
  let file;
  let dir;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-reload-local-'));
    file = path.join(dir, 'toolgate.yaml');
    writeFileSync(file, JSON.stringify(localConfig(), null, 2));
    server = await startServerFromConfig(file);
  });

  after(async () => {
    if (!server) return;
    const code = await server.stop();
    assert.equal(code, 0, server.log());
  });

  test('adds a model on the same file, keeps the unchanged engine, drains a removed one', async () => {
    const client = new OpenAI({ apiKey: OPS, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    const ask = (model, extra = {}) => client.chat.completions.create({
      model, messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 4, ...extra,
    });
    await ask('smol');
    const before = await generatedTokens(server, 'smol');
    assert.ok(before > 0, String(before));

    // Add: loaded on a worker thread while `smol` keeps answering.
    writeFileSync(file, JSON.stringify(localConfig({ second: true }), null, 2));
    let reloaded = false;
    const during = (async () => {
      let n = 0;
      while (!reloaded) { await ask('smol'); ++n; }
      return n;
    })();
    const added = await reload(server);
    reloaded = true;
    assert.equal(added.status, 200, JSON.stringify(added.body) + server.log().slice(-3000));
    await during;
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.deepEqual(ids, ['smol', 'smol-short']);
    const short = await ask('smol-short');
    assert.ok(short.usage.completion_tokens > 0);
    // The unchanged model was not loaded again: one load, and its counters go on.
    assert.equal(server.log().split("loading model 'smol' ").length - 1, 1, server.log());
    assert.ok(await generatedTokens(server, 'smol') >= before);
    assert.ok(server.log().includes('local: 1 kept, 1 loaded, 0 released'), server.log().slice(-3000));

    // A model whose file is no GGUF: the whole reload is refused, the old config keeps serving.
    const junk = path.join(dir, 'junk.gguf');
    writeFileSync(junk, 'not a model at all');
    writeFileSync(file, JSON.stringify(localConfig({ second: true, broken: junk }), null, 2));
    const refused = await reload(server);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.errors.length, 1, JSON.stringify(refused.body));
    assert.match(refused.body.errors[0], /model 'broken'/);
    assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['smol', 'smol-short']);
    await ask('smol-short');

    // Remove `smol-short` while streams to it are generating: they run to their end on the old
    // engine, new requests get 404, and the engine is freed after the last one.
    const streams = await Promise.all(Array.from({ length: 3 }, async () => {
      const stream = await ask('smol-short', { stream: true, max_tokens: 200, ignore_eos: true });
      const it = stream[Symbol.asyncIterator]();
      const first = await it.next();  // generating now
      assert.ok(!first.done);
      return it;
    }));
    writeFileSync(file, JSON.stringify(localConfig(), null, 2));
    const removed = await reload(server);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    await assert.rejects(ask('smol-short'), (e) => e.status === 404);
    assert.deepEqual((await client.models.list()).data.map((m) => m.id), ['smol']);
    for (const it of streams) {
      let finish = null;
      for (let c = await it.next(); !c.done; c = await it.next()) finish = c.value.choices[0]?.finish_reason ?? finish;
      assert.equal(finish, 'length');
    }
    const deadline = Date.now() + 30_000;
    while (!/engine of \S+ stopped and freed/.test(server.log())) {
      assert.ok(Date.now() < deadline, server.log().slice(-3000));
      await new Promise((r) => setTimeout(r, 100));
    }
    await ask('smol');
    assert.ok(await generatedTokens(server, 'smol') >= before);
    assert.equal(server.log().split("loading model 'smol' ").length - 1, 1);
  });
});
