// End-to-end: the KV cache element type set in a deployment config (models[].engine.kv_dtype)
// reaches the engine: the same 64 MiB budget holds 2x (int8) and 8/3x (int4) the f16 blocks, and
// the quantized caches still answer a one-word factual question.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, metric, skipReason, startServer } from './server.mjs';

const skip = skipReason();

async function serveWith(kvDtype) {
  const server = await startServer({ model: { engine: { kv_dtype: kvDtype } } });
  try {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    const r = await client.chat.completions.create({
      model: 'default',
      messages: [{ role: 'user', content: 'What is the capital of France? Answer in one word.' }],
      temperature: 0,
      max_tokens: 12,
    });
    const blocks = await metric(server.baseURL, 'toolgate:kv_blocks_total');
    // The engine publishes its stats after the step that finished the answer: poll briefly.
    let used = await metric(server.baseURL, 'toolgate:kv_blocks_used');
    for (let i = 0; i < 50 && used !== 0; ++i) {
      await new Promise((r) => setTimeout(r, 20));
      used = await metric(server.baseURL, 'toolgate:kv_blocks_used');
    }
    return { text: r.choices[0].message.content, blocks, used };
  } finally {
    const code = await server.stop();
    assert.equal(code, 0, `toolgate exit code ${code}; log:\n${server.log()}`);
  }
}

describe('kv_dtype in the config', { skip: skip ?? false, timeout: 300_000 }, () => {
  test('f16, int8 and int4 caches: capacity and answers', async () => {
    const f16 = await serveWith('f16');
    const int8 = await serveWith('int8');
    const int4 = await serveWith('int4');
    assert.match(f16.text, /Paris/);
    // int8 noise is far below the gap between the top two tokens here: the same words. int4's
    // is not (SmolLM2 words it differently), but the fact must survive.
    assert.equal(int8.text, f16.text, 'int8 answer differs from f16');
    assert.match(int4.text, /Paris/);
    for (const [name, r] of [['f16', f16], ['int8', int8], ['int4', int4]])
      assert.equal(r.used, 0, `${name}: blocks still in use after the answer`);
    // SmolLM2 (head size 64): int8 = 1 byte + 8 bytes of scale/zero per 64 values, int4 = half a
    // byte + 8 bytes per 32 values, against 2 bytes for f16.
    assert.ok(Math.abs(int8.blocks / f16.blocks - 2 / (1 + 8 / 64)) < 0.02, `int8/f16 ${int8.blocks / f16.blocks}`);
    assert.ok(Math.abs(int4.blocks / f16.blocks - 2 / (0.5 + 8 / 32)) < 0.02, `int4/f16 ${int4.blocks / f16.blocks}`);
  });
});
