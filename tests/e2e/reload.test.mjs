// End-to-end: live reload. A front toolgate forwards `pooled` to replica A; under steady load,
// its config file is rewritten to add replica B and raise a key's limit, and SIGHUP applies it:
// B gets traffic, answers carry the new limit, and no request fails. Then a broken file is sent
// to POST /admin/reload (admin key only): refused with every problem at file:line, while the
// old config keeps serving.
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
