// End-to-end: OpenAI's legacy /v1/completions with the official openai SDK (plain prompts,
// fill-in-the-middle through `suffix`, streaming, echo, legacy logprobs, prompt arrays and
// token prompts) and llama.cpp's /infill, against Qwen2.5-Coder-0.5B (FIM markers) and
// SmolLM2 (none: a FIM request is a 400 naming it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import {
  API_KEY, defaultModelPath, freePort, skipReason, startServerWithConfig, toolModelPath,
} from './server.mjs';

const skip = skipReason(toolModelPath()) ?? skipReason(defaultModelPath());
const QWEN = 'qwen2.5-coder-0.5b';
const SMOL = 'smollm2-135m-instruct';

describe('/v1/completions and /infill', { skip: skip ?? false, timeout: 600_000 }, () => {
  let server;
  let client;

  before(async () => {
    const port = await freePort();
    server = await startServerWithConfig({
      server: { host: '127.0.0.1', port, api_keys: [API_KEY], max_concurrent_requests: 8 },
      engine: { kv_budget_bytes: 64 * 1024 * 1024 },
      models: [
        { id: QWEN, path: toolModelPath() },
        { id: SMOL, path: defaultModelPath() },
      ],
    });
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (server) {
      const code = await server.stop();
      assert.equal(code, 0, `toolgate exit code ${code}; log:\n${server.log()}`);
    }
  });

  const post = (path, body) => fetch(`${server.baseURL}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });

  test('a plain prompt continues without any chat template', async () => {
    const r = await client.completions.create({
      model: QWEN, prompt: 'def fibonacci(n):\n', max_tokens: 24, temperature: 0,
    });
    assert.equal(r.object, 'text_completion');
    assert.match(r.id, /^cmpl-/);
    assert.equal(r.model, QWEN);
    assert.equal(r.choices.length, 1);
    assert.equal(typeof r.choices[0].text, 'string');
    assert.ok(r.choices[0].text.length > 0);
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    // No chat template: the prompt is exactly the 5 tokens of the text.
    assert.ok(r.usage.prompt_tokens < 10, `prompt_tokens ${r.usage.prompt_tokens}`);
    assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 24);
  });

  test('max_tokens defaults to 16, as in the OpenAI API', async () => {
    const r = await client.completions.create({ model: QWEN, prompt: 'Once upon a time', temperature: 0 });
    assert.ok(r.usage.completion_tokens <= 16);
  });

  test('suffix fills in the middle (Qwen FIM markers), greedy', async () => {
    const r = await client.completions.create({
      model: QWEN,
      prompt: 'def add(a, b):\n    return ',
      suffix: '\n\n\nprint(add(2, 3))\n',
      max_tokens: 16,
      temperature: 0,
    });
    const text = r.choices[0].text;
    assert.match(text.replace(/\s/g, ''), /a\+b/, `filled: ${JSON.stringify(text)}`);
    assert.ok(!text.includes('<|'), 'no FIM markup leaks into the text');
  });

  test('streamed, with a usage chunk, equals the non-streamed text', async () => {
    const body = {
      model: QWEN, prompt: 'function square(x) {\n  return ', suffix: ';\n}\n', max_tokens: 12,
      temperature: 0,
    };
    const whole = await client.completions.create(body);
    const stream = await client.completions.create({
      ...body, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let usage = null;
    let finish = null;
    let chunks = 0;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'text_completion');
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.text;
        if (c.finish_reason) finish = c.finish_reason;
        chunks += 1;
      }
    }
    assert.ok(chunks >= 2);
    assert.equal(text, whole.choices[0].text);
    assert.ok(finish);
    assert.ok(usage && usage.completion_tokens === whole.usage.completion_tokens);
  });

  test('an array of prompts with n gives prompts x n choices in order', async () => {
    const r = await client.completions.create({
      model: QWEN, prompt: ['import os\n', 'const x = '], n: 2, max_tokens: 4, temperature: 0,
    });
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2, 3]);
    assert.equal(r.choices[0].text, r.choices[1].text);  // greedy: same prompt, same text
    assert.equal(r.choices[2].text, r.choices[3].text);
  });

  test('token prompts and echo', async () => {
    const tokenPrompt = await client.completions.create({
      model: QWEN, prompt: [750, 1887, 1445, 982], max_tokens: 4, temperature: 0, echo: true,
    });
    assert.equal(tokenPrompt.usage.prompt_tokens, 4);
    assert.ok(tokenPrompt.choices[0].text.length > 0);
    const r = await client.completions.create({
      model: QWEN, prompt: 'x = 1\ny = ', max_tokens: 4, temperature: 0, echo: true,
    });
    assert.ok(r.choices[0].text.startsWith('x = 1\ny = '), JSON.stringify(r.choices[0].text));
    const bad = await post('/v1/completions', { model: QWEN, prompt: [10, 999999999] });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.param, 'prompt');
  });

  test('legacy logprobs: tokens, token_logprobs, top_logprobs, text_offset', async () => {
    const r = await client.completions.create({
      model: QWEN, prompt: 'The capital of France is', max_tokens: 5, temperature: 0, logprobs: 2,
    });
    const lp = r.choices[0].logprobs;
    const n = r.usage.completion_tokens;
    assert.equal(lp.tokens.length, n);
    assert.equal(lp.token_logprobs.length, n);
    assert.equal(lp.top_logprobs.length, n);
    assert.equal(lp.text_offset.length, n);
    assert.equal(lp.tokens.join(''), r.choices[0].text);
    assert.equal(lp.text_offset[0], 0);
    for (let i = 1; i < n; ++i) assert.equal(lp.text_offset[i], lp.text_offset[i - 1] + lp.tokens[i - 1].length);
    for (const [i, top] of lp.top_logprobs.entries()) {
      assert.ok(Object.keys(top).length >= 1 && Object.keys(top).length <= 2);
      assert.ok(lp.token_logprobs[i] <= 0);
    }
  });

  test('a model without FIM markers is a 400 naming it', async () => {
    await assert.rejects(
      client.completions.create({ model: SMOL, prompt: 'a', suffix: 'b', max_tokens: 4 }),
      (e) => e.status === 400 && e.message.includes(SMOL) && e.param === 'suffix',
    );
    const r = await post('/infill', { model: SMOL, input_prefix: 'a', input_suffix: 'b' });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, new RegExp(SMOL));
  });

  test('bad fields are 400s in the OpenAI error shape', async () => {
    await assert.rejects(client.completions.create({ model: QWEN, prompt: 'a', temperature: 5 }),
      (e) => e.status === 400 && e.param === 'temperature');
    await assert.rejects(client.completions.create({ model: QWEN, prompt: 'a', logprobs: 2, echo: true }),
      (e) => e.status === 400 && e.param === 'echo');
    await assert.rejects(client.completions.create({ model: 'nope', prompt: 'a' }),
      (e) => e.status === 404);
    const missing = await post('/v1/completions', { model: QWEN });
    assert.equal(missing.status, 400);
  });

  test('/infill in llama.cpp\'s shape, with repo-level extra files, streamed and not', async () => {
    const body = {
      input_extra: [{ filename: 'util.py', text: 'def clamp(v, lo, hi):\n    return max(lo, min(v, hi))\n' }],
      input_prefix: 'from util import clamp\n\ndef percent(x):\n    return ',
      input_suffix: '\n',
      n_predict: 16,
      temperature: 0,
    };
    const r = await post('/infill', body);
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.model, QWEN);  // the first model that can fill in the middle
    assert.equal(typeof j.content, 'string');
    assert.equal(j.stop, true);
    assert.ok(j.tokens_predicted > 0);
    assert.ok(j.timings.prompt_n > 0 && j.timings.predicted_ms >= 0);

    const s = await post('/infill', { ...body, stream: true });
    assert.match(s.headers.get('content-type'), /text\/event-stream/);
    const events = (await s.text()).split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice(6)));
    assert.equal(events.at(-1).stop, true);
    assert.equal(events.map((e) => e.content).join(''), j.content);
  });

  test('successive FIM requests with a growing prefix reuse the cached prefix', async () => {
    const base = Array.from({ length: 40 }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`).join('\n');
    const ask = (prefix) => client.completions.create({
      model: QWEN, prompt: prefix, suffix: '\n\nprint(f0(1))\n', max_tokens: 2, temperature: 0,
    });
    const first = await ask(`${base}\ndef g(x):\n    return`);
    const second = await ask(`${base}\ndef g(x):\n    return x *`);
    const cached = second.usage.prompt_tokens_details.cached_tokens;
    assert.ok(first.usage.prompt_tokens > 400);
    // Everything up to the last full 16-token block before the edit is served from the cache.
    assert.ok(second.usage.prompt_tokens - cached < 48,
      `computed ${second.usage.prompt_tokens - cached} of ${second.usage.prompt_tokens}`);
  });
});
