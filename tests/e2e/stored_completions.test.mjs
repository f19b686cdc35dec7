// End-to-end: stored chat completions (`store: true`) through the official openai SDK —
// create (streamed and not), list with filters and pagination, retrieve, messages, update,
// delete — and a second API key that sees none of it. Also export to fine-tuning JSONL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';

import { API_KEY, defaultModelPath, freePort, skipReason, startServerWithConfig } from './server.mjs';

const skip = skipReason();
const OTHER_KEY = 'sk-toolgate-e2e-other';

describe('stored chat completions with the openai SDK', { skip: skip ?? false, timeout: 600_000 }, () => {
  let server, client, other, dir, config;
  const model = 'smollm2-135m-instruct';
  const tag = `run-${Date.now()}`;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-store-e2e-'));
    const port = await freePort();
    config = {
      server: { host: '127.0.0.1', port, api_keys: [API_KEY, OTHER_KEY], max_concurrent_requests: 8 },
      engine: { kv_budget_bytes: 64 * 1024 * 1024 },
      models: [
        { id: model, path: defaultModelPath(), aliases: ['default'] },
        // An upstream model forwarding to this same server: stores what the upstream answered.
        { id: 'relayed', upstream: { base_url: `http://127.0.0.1:${port}/v1`, api_key: API_KEY, model } },
      ],
      store: { enabled: true, path: path.join(dir, 'store.db') },
    };
    server = await startServerWithConfig(config);
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    other = new OpenAI({ apiKey: OTHER_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (server) {
      const code = await server.stop();
      assert.equal(code, 0, `toolgate exit code ${code}; log:\n${server.log()}`);
    }
  });

  const ask = (content, extra = {}) => ({
    model,
    messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content }],
    temperature: 0,
    max_tokens: 12,
    store: true,
    ...extra,
  });

  const created = [];

  test('a stored non-streamed completion can be retrieved as it was returned', async () => {
    const r = await client.chat.completions.create(ask('Name a colour.', { metadata: { tag, kind: 'plain' } }));
    created.push(r.id);
    const got = await client.chat.completions.retrieve(r.id);
    assert.equal(got.id, r.id);
    assert.equal(got.object, 'chat.completion');
    assert.equal(got.model, model);
    assert.equal(got.choices[0].message.content, r.choices[0].message.content);
    assert.deepEqual(got.usage, r.usage);
    assert.deepEqual(got.metadata, { tag, kind: 'plain' });
  });

  test('a streamed completion is stored assembled from its chunks, with usage', async () => {
    const stream = await client.chat.completions.create(
      ask('Name a fruit.', { stream: true, metadata: { tag, kind: 'stream' } }));
    let text = '', id = null, sawUsage = false;
    for await (const chunk of stream) {
      id ??= chunk.id;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) sawUsage = true;
    }
    assert.equal(sawUsage, false, 'no usage chunk unless the client asked for one');
    created.push(id);
    // The end of the stream means the row is committed: no waiting needed.
    const got = await client.chat.completions.retrieve(id);
    assert.equal(got.choices[0].message.content, text);
    assert.equal(got.choices[0].message.role, 'assistant');
    assert.ok(got.choices[0].finish_reason);
    assert.ok(got.usage.completion_tokens > 0, JSON.stringify(got.usage));
    assert.ok(got.usage.prompt_tokens > 0);
  });

  test('an upstream model\'s completions are stored too, streamed and not, without leaking store upstream', async () => {
    let text = '', id = null;
    const stream = await client.chat.completions.create({ ...ask('Name a tree.', { stream: true }), model: 'relayed' });
    for await (const chunk of stream) {
      id ??= chunk.id;
      text += chunk.choices[0]?.delta?.content ?? '';
      assert.equal(chunk.usage ?? null, null, 'no usage chunk unless asked');
    }
    const got = await client.chat.completions.retrieve(id);
    assert.equal(got.model, 'relayed');
    assert.equal(got.choices[0].message.content, text);
    assert.ok(got.usage.completion_tokens > 0);
    const plain = await client.chat.completions.create({ ...ask('Name a bird.'), model: 'relayed' });
    const got2 = await client.chat.completions.retrieve(plain.id);
    assert.equal(got2.choices[0].message.content, plain.choices[0].message.content);
    // The forwarded requests carried no `store`: only the two relayed completions were kept.
    const relayed = await client.chat.completions.list({ limit: 100 });
    assert.equal(relayed.data.filter((c) => c.id === id || c.id === plain.id).length, 2);
    assert.equal(relayed.data.length, created.length + 2);
    for (const c of relayed.data) if (c.id === id || c.id === plain.id) await client.chat.completions.delete(c.id);
  });

  test('completions without store are not kept', async () => {
    const r = await client.chat.completions.create({ ...ask('Say hi.'), store: false });
    await assert.rejects(client.chat.completions.retrieve(r.id), (e) => e.status === 404);
  });

  test('list filters by metadata and model, pages with after/limit, and orders', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await client.chat.completions.create(ask(`Count to ${i + 1}.`, { metadata: { tag, kind: 'page' } }));
      created.push(r.id);
    }
    const all = [];
    for await (const c of client.chat.completions.list({ metadata: { tag }, limit: 2 })) all.push(c.id);
    assert.deepEqual(all, created, 'ascending by default, every page followed');

    const first = await client.chat.completions.list({ metadata: { tag }, limit: 2 });
    assert.equal(first.data.length, 2);
    assert.equal(first.has_more, true);

    const desc = await client.chat.completions.list({ metadata: { tag }, order: 'desc', limit: 100 });
    assert.deepEqual(desc.data.map((c) => c.id), [...created].reverse());

    const pages = await client.chat.completions.list({ metadata: { tag, kind: 'page' }, limit: 100 });
    assert.equal(pages.data.length, 3);
    assert.ok(pages.data.every((c) => c.metadata.kind === 'page'));

    const byModel = await client.chat.completions.list({ model, metadata: { tag }, limit: 100 });
    assert.equal(byModel.data.length, created.length);
    const none = await client.chat.completions.list({ model: 'no-such-model', limit: 100 });
    assert.equal(none.data.length, 0);
  });

  test('messages lists the request messages with ids, paginated', async () => {
    const id = created[0];
    const all = [];
    for await (const m of client.chat.completions.messages.list(id, { limit: 1 })) all.push(m);
    assert.deepEqual(all.map((m) => m.role), ['system', 'user']);
    assert.equal(all[1].content, 'Name a colour.');
    assert.equal(all[0].id, `${id}-0`);
    const desc = await client.chat.completions.messages.list(id, { order: 'desc' });
    assert.deepEqual(desc.data.map((m) => m.role), ['user', 'system']);
  });

  test('update replaces the metadata', async () => {
    const id = created[0];
    const updated = await client.chat.completions.update(id, { metadata: { tag, kind: 'renamed', title: 'Colours' } });
    assert.deepEqual(updated.metadata, { tag, kind: 'renamed', title: 'Colours' });
    const got = await client.chat.completions.retrieve(id);
    assert.equal(got.metadata.title, 'Colours');
  });

  test('a second API key sees nothing and can change nothing', async () => {
    const id = created[0];
    await assert.rejects(other.chat.completions.retrieve(id), (e) => e.status === 404);
    await assert.rejects(other.chat.completions.messages.list(id), (e) => e.status === 404);
    await assert.rejects(other.chat.completions.update(id, { metadata: { x: 'y' } }), (e) => e.status === 404);
    await assert.rejects(other.chat.completions.delete(id), (e) => e.status === 404);
    const list = await other.chat.completions.list({ limit: 100 });
    assert.equal(list.data.length, 0);
    // Its own stored completion is its own.
    const mine = await other.chat.completions.create(ask('Say yes.'));
    const otherList = await other.chat.completions.list({ limit: 100 });
    assert.deepEqual(otherList.data.map((c) => c.id), [mine.id]);
    await assert.rejects(client.chat.completions.retrieve(mine.id), (e) => e.status === 404);
    // The database holds key hashes only, never the keys.
    const db = readFileSync(config.store.path);
    assert.equal(db.includes(API_KEY), false);
    assert.equal(db.includes(OTHER_KEY), false);
  });

  test('bad input gets OpenAI error shapes', async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    await assert.rejects(client.chat.completions.create(ask('x', { metadata: tooMany })),
      (e) => e.status === 400 && e.error?.param === 'metadata');
    await assert.rejects(client.chat.completions.create(ask('x', { metadata: { k: 'v'.repeat(513) } })),
      (e) => e.status === 400 && e.error?.param === 'metadata');
    await assert.rejects(client.chat.completions.create(ask('x', { metadata: { k: 5 } })),
      (e) => e.status === 400 && e.error?.param === 'metadata');
    await assert.rejects(client.chat.completions.list({ limit: 0 }), (e) => e.status === 400 && e.error?.param === 'limit');
    await assert.rejects(client.chat.completions.list({ limit: 101 }), (e) => e.status === 400 && e.error?.param === 'limit');
    await assert.rejects(client.chat.completions.list({ order: 'sideways' }), (e) => e.status === 400 && e.error?.param === 'order');
    await assert.rejects(client.chat.completions.list({ after: 'chatcmpl-unknown' }), (e) => e.status === 400 && e.error?.param === 'after');
    await assert.rejects(client.chat.completions.retrieve('chatcmpl-doesnotexist'),
      (e) => e.status === 404 && e.error?.code === 'not_found');
    await assert.rejects(client.chat.completions.retrieve('bad id!'), (e) => e.status === 400);
    await assert.rejects(client.chat.completions.update(created[0], { metadata: tooMany }),
      (e) => e.status === 400 && e.error?.param === 'metadata');
    const raw = await fetch(`${server.baseURL}/v1/chat/completions/${created[0]}`, {
      method: 'PUT', headers: { Authorization: `Bearer ${API_KEY}` },
    });
    assert.equal(raw.status, 405);
    assert.equal((await raw.json()).error.type, 'invalid_request_error');
  });

  test('export writes train/valid JSONL in the fine-tuning format, split by id', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'toolgate-export-'));
    const configPath = path.join(out, 'config.yaml');
    writeFileSync(configPath, JSON.stringify(config));
    const run = (validation) => execFileSync(process.env.TOOLGATE_BIN,
      ['export', '--config', configPath, '--metadata', `tag=${tag}`, '--out', out, '--validation', validation],
      { encoding: 'utf8' });
    run('0.5');
    const read = (f) => readFileSync(path.join(out, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const train = read('train.jsonl'), valid = read('valid.jsonl');
    assert.equal(train.length + valid.length, created.length);
    for (const line of [...train, ...valid]) {
      const roles = line.messages.map((m) => m.role);
      assert.equal(roles[0], 'system');
      assert.equal(roles.at(-1), 'assistant');
      assert.ok(typeof line.messages.at(-1).content === 'string');
    }
    // Deterministic: the same split again.
    run('0.5');
    assert.deepEqual(read('train.jsonl'), train);
    assert.deepEqual(read('valid.jsonl'), valid);
  });

  test('a locked database: 503 for store writes, chat completions keep working', { skip: !existsSync('/usr/bin/sqlite3') && 'no sqlite3 CLI' }, async () => {
    // Another process holds the write lock (as a stuck backup or a second writer would).
    const locker = spawn('/usr/bin/sqlite3', [config.store.path], { stdio: ['pipe', 'pipe', 'pipe'] });
    locker.stdin.write('BEGIN EXCLUSIVE;\nSELECT 42;\n');
    await new Promise((resolve) => locker.stdout.once('data', resolve));
    try {
      await assert.rejects(client.chat.completions.update(created[0], { metadata: { x: 'y' } }),
        (e) => e.status === 503 && e.error?.type === 'server_error');
      const plain = await client.chat.completions.create({ ...ask('Say ok.'), store: false });
      assert.ok(plain.choices[0].message.content !== undefined);
      // Storing fails (logged) but the answer still arrives.
      const stored = await client.chat.completions.create(ask('Say ok.'));
      assert.equal(stored.object, 'chat.completion');
      // Reads are not blocked by a writer (WAL).
      assert.equal((await client.chat.completions.retrieve(created[0])).id, created[0]);
    } finally {
      locker.stdin.end('ROLLBACK;\n');
      await new Promise((resolve) => locker.once('exit', resolve));
    }
    assert.match(server.log(), /store: transaction of \d+ write\(s\) failed/);
    const updated = await client.chat.completions.update(created[0], { metadata: { tag, kind: 'renamed', title: 'Colours' } });
    assert.equal(updated.metadata.title, 'Colours');
  });

  test('delete removes it from retrieve and list', async () => {
    const id = created.shift();
    const d = await client.chat.completions.delete(id);
    assert.deepEqual(d, { object: 'chat.completion.deleted', id, deleted: true });
    await assert.rejects(client.chat.completions.retrieve(id), (e) => e.status === 404);
    const list = await client.chat.completions.list({ metadata: { tag }, limit: 100 });
    assert.deepEqual(list.data.map((c) => c.id), created);
    await assert.rejects(client.chat.completions.delete(id), (e) => e.status === 404);
  });
});
