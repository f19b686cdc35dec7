// Crash safety of the store: 200 stored completions are written while the server is killed
// (SIGKILL) at a random moment. After a restart on the same file the database opens, passes
// `PRAGMA integrity_check`, and every completion whose response reached the client is there
// (a stored response ends only after its row is committed: storing_sink.h).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';

import { API_KEY, defaultModelPath, freePort, skipReason, startServerWithConfig } from './server.mjs';

const skip = skipReason();
const TOTAL = 200;
const CONCURRENCY = 8;

function execIntegrity(dbPath) {
  if (!existsSync('/usr/bin/sqlite3')) return null;
  return execFileSync('/usr/bin/sqlite3', [dbPath, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim();
}

async function serve(dbPath) {
  const port = await freePort();
  return startServerWithConfig({
    server: { host: '127.0.0.1', port, api_keys: [API_KEY], max_concurrent_requests: CONCURRENCY },
    engine: { kv_budget_bytes: 64 * 1024 * 1024 },
    models: [{ id: 'smollm2-135m-instruct', path: defaultModelPath() }],
    store: { enabled: true, path: dbPath },
  });
}

describe('store survives kill -9', { skip: skip ?? false, timeout: 600_000 }, () => {
  test('every acknowledged completion is present and the database is intact', async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-crash-'));
    const dbPath = path.join(dir, 'store.db');
    const server = await serve(dbPath);
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    // Kill after a random number of acknowledgements in the middle of the run.
    const killAfter = 40 + Math.floor(Math.random() * 120);
    const acknowledged = [];
    let killed = null;
    let next = 0;
    const one = async (i) => {
      const body = {
        model: 'smollm2-135m-instruct',
        messages: [{ role: 'user', content: `Write the number ${i}.` }],
        max_tokens: 3,
        temperature: 0,
        store: true,
        metadata: { crash: 'run', i: String(i) },
      };
      if (i % 2 === 0) {
        const r = await client.chat.completions.create(body);
        acknowledged.push(r.id);
      } else {
        let id = null;
        for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) id ??= chunk.id;
        acknowledged.push(id);  // the SDK saw data: [DONE]
      }
      if (acknowledged.length === killAfter && !killed) killed = server.kill('SIGKILL');
    };
    const worker = async () => {
      while (next < TOTAL) {
        const i = next++;
        try { await one(i); } catch { /* killed mid-request */ }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await (killed ?? server.kill('SIGKILL'));
    assert.ok(acknowledged.length >= killAfter, `only ${acknowledged.length} acknowledged`);
    assert.ok(acknowledged.length < TOTAL, 'the kill landed before the end');

    // The CLI opens the WAL database as a new process would after the crash (and recovers
    // the WAL); null when Debian's sqlite3 is not installed.
    const check = execIntegrity(dbPath);
    if (check !== null) assert.equal(check, 'ok');
    const again = await serve(dbPath);
    try {
      const c2 = new OpenAI({ apiKey: API_KEY, baseURL: `${again.baseURL}/v1`, maxRetries: 0 });
      const stored = new Set();
      for await (const c of c2.chat.completions.list({ metadata: { crash: 'run' }, limit: 100 })) stored.add(c.id);
      t.diagnostic(`killed after ${acknowledged.length} acknowledged of ${TOTAL}; ${stored.size} stored`);
      const missing = acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged completions lost`);
      // A completion can be stored and then lost on the wire by the kill: never the reverse.
      assert.ok(stored.size >= acknowledged.length);
      // Again while the restarted server has it open.
      const check = execIntegrity(dbPath);
      if (check !== null) assert.equal(check, 'ok');
    } finally {
      assert.equal(await again.stop(), 0);
    }
  });
});
