// End-to-end: the official openai SDK against the real server and model.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, metric, skipReason, startServer } from './server.mjs';

const skip = skipReason();

describe('toolgate with the openai SDK', { skip: skip ?? false, timeout: 600_000 }, () => {
  let server;
  let client;
  let model;

  before(async () => {
    server = await startServer();
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    const page = await client.models.list();
    model = page.data[0].id;
  });

  after(async () => {
    if (server) {
      const code = await server.stop();
      assert.equal(code, 0, `toolgate exit code ${code}; log:\n${server.log()}`);
    }
  });

  const ask = (extra = {}) => ({
    model,
    messages: [{ role: 'user', content: 'What is the capital of France?' }],
    temperature: 0,
    max_tokens: 24,
    ...extra,
  });

  test('lists models and retrieves one', async () => {
    const page = await client.models.list();
    assert.ok(page.data.length >= 1);
    const m = page.data[0];
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'toolgate');
    assert.equal(typeof m.created, 'number');
    const one = await client.models.retrieve(m.id);
    assert.equal(one.id, m.id);
  });

  test('plain chat completion', async () => {
    const r = await client.chat.completions.create(ask());
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.model, model);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.ok(r.choices[0].message.content.length > 0);
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  });

  test('usage counts prompt and completion tokens', async () => {
    const r = await client.chat.completions.create(ask({ max_tokens: 8 }));
    assert.ok(r.usage.prompt_tokens > 5);
    assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 8);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, 'number');
  });

  test('streamed content concatenates to the non-streamed answer at temperature 0', async () => {
    const whole = await client.chat.completions.create(ask());
    const stream = await client.chat.completions.create({
      ...ask(), stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let first = true;
    let finish = null;
    let usage = null;
    let id = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      id ??= chunk.id;
      assert.equal(chunk.id, id);
      if (chunk.usage) usage = chunk.usage;
      if (chunk.choices.length === 0) continue;
      const c = chunk.choices[0];
      if (first) {
        assert.equal(c.delta.role, 'assistant');
        first = false;
      }
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.ok(usage, 'include_usage gives a usage chunk');
    assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
  });

  test('max_tokens ends with finish_reason length', async () => {
    const r = await client.chat.completions.create(ask({
      max_tokens: 3,
      messages: [{ role: 'user', content: 'Write a long story about a dragon.' }],
    }));
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 3);
  });

  test('stop sequences end generation and are not returned', async () => {
    const base = await client.chat.completions.create(ask({ max_tokens: 32 }));
    const text = base.choices[0].message.content;
    // Stop on a word the unconstrained answer contains (after its first character).
    const words = text.split(/\s+/).filter((w) => w.length >= 3);
    assert.ok(words.length > 1, `answer too short to pick a stop word: ${text}`);
    const stopWord = words[1];
    const r = await client.chat.completions.create(ask({ max_tokens: 32, stop: [stopWord] }));
    const out = r.choices[0].message.content;
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(!out.includes(stopWord), `"${out}" contains stop "${stopWord}"`);
    assert.ok(text.startsWith(out), `"${out}" is a prefix of "${text}"`);
  });

  test('n > 1 returns indexed choices', async () => {
    const r = await client.chat.completions.create(ask({ n: 2, max_tokens: 4 }));
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  });

  test('invalid JSON is a 400 invalid_request_error', async () => {
    const r = await fetch(`${server.baseURL}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: '{"model": ',
    });
    assert.equal(r.status, 400);
    const j = await r.json();
    assert.equal(j.error.type, 'invalid_request_error');
  });

  test('bad parameter is a BadRequestError naming it', async () => {
    await assert.rejects(
      client.chat.completions.create(ask({ temperature: 5 })),
      (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'temperature',
    );
  });

  test('unknown model is a NotFoundError', async () => {
    await assert.rejects(
      client.chat.completions.create(ask({ model: 'no-such-model' })),
      (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
    );
  });

  test('missing or wrong API key is an AuthenticationError', async () => {
    const anon = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    await assert.rejects(anon.models.list(),
      (e) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
    const r = await fetch(`${server.baseURL}/v1/models`);
    assert.equal(r.status, 401);
  });

  test('oversize body is a 413', async () => {
    const big = 'x'.repeat(1024 * 1024);
    let status;
    try {
      const r = await fetch(`${server.baseURL}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: big }] }),
      });
      status = r.status;
    } catch (e) {
      assert.fail(`the client saw a connection error instead of a 413: ${e}`);
    }
    assert.equal(status, 413);
  });

  test('client abort mid-stream cancels the generation and frees its KV blocks', async () => {
    const stream = await client.chat.completions.create({
      ...ask(), max_tokens: 400, stream: true,
      messages: [{ role: 'user', content: 'Count from 1 to 1000, one number per line.' }],
    });
    let chunks = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) chunks += 1;
      if (chunks >= 3) {
        stream.controller.abort();
        break;
      }
    }
    assert.ok(chunks >= 3);
    // Cancellation frees the blocks before the engine's next step; give it a moment.
    let used = null;
    for (let i = 0; i < 50; i += 1) {
      used = await metric(server.baseURL, 'toolgate:kv_blocks_used');
      if (used === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(used, 0, 'KV blocks leaked after the client went away');
    assert.equal(await metric(server.baseURL, 'toolgate:num_requests_running'), 0);
    assert.ok(await metric(server.baseURL, 'toolgate:client_disconnects_total') >= 1);
  });

  test('concurrent streams keep their answers while others abort or fail', async () => {
    const prompts = ['Name three colors.', 'What is 2 + 2?', 'Say hello in French.',
      'Write a haiku about the sea.', 'List two planets.', 'What is the opposite of hot?'];
    const body = (content) => ({ ...ask(), max_tokens: 32, messages: [{ role: 'user', content }] });
    // Alone, one after another: the reference answers.
    const solo = [];
    for (const p of prompts) solo.push((await client.chat.completions.create(body(p))).choices[0].message.content);
    // Together: six streams batched by the engine, one stream the client drops after two
    // chunks, and bad requests arriving in between.
    const streamed = prompts.map(async (p) => {
      let text = '';
      for await (const chunk of await client.chat.completions.create({ ...body(p), stream: true })) {
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      return text;
    });
    const dropped = (async () => {
      const s = await client.chat.completions.create({
        ...body('Count from 1 to 1000, one number per line.'), max_tokens: 300, stream: true,
      });
      let n = 0;
      for await (const chunk of s) {
        if (chunk.choices[0]?.delta?.content && ++n >= 2) { s.controller.abort(); break; }
      }
    })();
    const bad = [
      client.chat.completions.create({ ...body('x'), temperature: 7 }).catch((e) => e.status),
      client.chat.completions.create({ ...body('x'), model: 'no-such-model' }).catch((e) => e.status),
      fetch(`${server.baseURL}/v1/chat/completions`, {
        method: 'POST', headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
        body: '{"model": "default", "messages": [',
      }).then((r) => r.status),
    ];
    assert.deepEqual(await Promise.all(bad), [400, 404, 400]);
    await dropped;
    assert.deepEqual(await Promise.all(streamed), solo);
    let used = null;
    for (let i = 0; i < 50 && used !== 0; i += 1) {
      used = await metric(server.baseURL, 'toolgate:kv_blocks_used');
      if (used !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(used, 0, 'KV blocks leaked');
  });

  test('health and metrics', async () => {
    const h = await fetch(`${server.baseURL}/health`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
    assert.ok(await metric(server.baseURL, 'toolgate:generation_tokens_total') > 0);
    assert.ok(await metric(server.baseURL, 'toolgate:time_to_first_token_seconds_count') > 0);
  });
});
