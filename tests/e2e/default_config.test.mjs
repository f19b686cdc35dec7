// The shipped deployment, config/default.yaml (what ./scripts/serve runs), starts and answers a
// real chat completion with its default model. The CLI's --port overrides the file's 8080 so
// the test does not collide with a running server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

import { startServerFromConfig } from './server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const configPath = path.join(root, 'config', 'default.yaml');
// default.yaml names its models relative to itself (../models/...).
const models = ['SmolLM2-135M-Instruct-Q4_1.gguf', 'Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf']
  .map((f) => path.join(root, 'models', f));

function skipReason() {
  const bin = process.env.TOOLGATE_BIN;
  if (!bin || !existsSync(bin)) return 'TOOLGATE_BIN is not set to a built toolgate binary';
  const missing = models.find((m) => !existsSync(m));
  return missing ? `model missing (./scripts/fetch-models all): ${missing}` : null;
}
const skip = skipReason();

describe('config/default.yaml', { skip: skip ?? false, timeout: 600_000 }, () => {
  let server;
  let client;
  // default.yaml keeps stored completions in ./toolgate.db: run where that is a scratch dir.
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'toolgate-default-'));

  before(async () => {
    server = await startServerFromConfig(configPath, [], { cwd });
    // default.yaml has no api_keys: loopback without authentication.
    client = new OpenAI({ apiKey: 'unused', baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.log());
  });

  test('serves both configured models', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.ok(ids.includes('smollm2-135m-instruct'), ids.join(','));
    assert.ok(ids.includes('qwen2.5-coder-1.5b-instruct'), ids.join(','));
  });

  test('the default model answers a chat completion', async () => {
    const r = await client.chat.completions.create({
      model: 'default', temperature: 0, max_tokens: 24,
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    assert.equal(r.object, 'chat.completion');
    assert.ok(['default', 'smollm2-135m-instruct'].includes(r.model), r.model);
    const content = r.choices[0].message.content;
    assert.equal(typeof content, 'string');
    assert.ok(content.trim().length > 0);
    assert.ok(r.usage.completion_tokens > 0);
  });

  test('stores completions in ./toolgate.db and serves the web chat', async () => {
    const r = await client.chat.completions.create({
      model: 'default', temperature: 0, max_tokens: 4, store: true, metadata: { from: 'default-config-test' },
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const list = await client.chat.completions.list({ metadata: { from: 'default-config-test' } });
    assert.deepEqual(list.data.map((c) => c.id), [r.id]);
    assert.ok(existsSync(path.join(cwd, 'toolgate.db')));
    const page = await fetch(`${server.baseURL}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);
    assert.match(await page.text(), /<title>Toolgate chat<\/title>/);
  });
});
