// End-to-end: the official `ollama` npm package (ollama-js) against Toolgate's Ollama API
// (/api/*): list, show, ps, chat and generate streamed and not, raw and suffix (FIM) generate,
// tool calls with object arguments, format "json", options, timings, and errors in Ollama's
// shape. Qwen2.5-Coder-0.5B (tools, FIM) and SmolLM2 (neither).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Ollama } from 'ollama';

import {
  API_KEY, defaultModelPath, freePort, skipReason, startServerWithConfig, toolModelPath,
} from './server.mjs';

const skip = skipReason(toolModelPath()) ?? skipReason(defaultModelPath());
const QWEN = 'qwen2.5-coder-0.5b';
const SMOL = 'smollm2-135m-instruct';

function sha256(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', description: 'City name' } },
      required: ['city'],
    },
  },
};

function assertTimings(r) {
  assert.equal(r.done, true);
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration',
    'eval_count', 'eval_duration']) assert.equal(typeof r[k], 'number', k);
  assert.ok(r.prompt_eval_count > 0);
  assert.ok(r.eval_count > 0);
  assert.ok(r.prompt_eval_duration > 0 && r.eval_duration >= 0);
  assert.ok(r.total_duration >= r.prompt_eval_duration + r.eval_duration - 1e6);
}

describe('toolgate with ollama-js', { skip: skip ?? false, timeout: 600_000 }, () => {
  let server;
  let ollama;

  before(async () => {
    const port = await freePort();
    server = await startServerWithConfig({
      server: { host: '127.0.0.1', port, api_keys: [API_KEY], max_concurrent_requests: 8 },
      engine: { kv_budget_bytes: 64 * 1024 * 1024 },
      models: [
        { id: QWEN, path: toolModelPath() },
        { id: SMOL, path: defaultModelPath() },
      ],
      tools: { builtin: ['calculator'] },
    });
    ollama = new Ollama({ host: server.baseURL, headers: { Authorization: `Bearer ${API_KEY}` } });
  });

  after(async () => {
    if (server) {
      const code = await server.stop();
      assert.equal(code, 0, `toolgate exit code ${code}; log:\n${server.log()}`);
    }
  });

  test('version, list with size, digest (SHA-256 of the GGUF) and details', async () => {
    assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+$/);
    const { models } = await ollama.list();
    assert.deepEqual(models.map((m) => m.name).sort(), [`${QWEN}:latest`, `${SMOL}:latest`]);
    const q = models.find((m) => m.name === `${QWEN}:latest`);
    assert.equal(q.size, statSync(toolModelPath()).size);
    assert.equal(q.digest, await sha256(toolModelPath()));
    assert.equal(q.details.format, 'gguf');
    assert.equal(q.details.family, 'qwen2');
    assert.equal(q.details.quantization_level, 'Q4_K_M');
    assert.match(q.details.parameter_size, /^[\d.]+[MB]$/);
    assert.ok(!Number.isNaN(Date.parse(q.modified_at)));
    const s = models.find((m) => m.name === `${SMOL}:latest`);
    assert.equal(s.details.family, 'llama');
    assert.equal(s.details.quantization_level, 'Q4_1');
  });

  test('show: template, parameters, model_info from the GGUF, capabilities', async () => {
    const q = await ollama.show({ model: QWEN });
    assert.ok(q.template.includes('<|im_start|>'));
    assert.match(q.parameters, /num_ctx \d+/);
    assert.equal(q.model_info['general.architecture'], 'qwen2');
    assert.ok(q.model_info['general.parameter_count'] > 4e8);
    assert.ok(q.model_info['qwen2.context_length'] > 0);
    assert.deepEqual(q.capabilities, ['completion', 'tools', 'insert']);
    const s = await ollama.show({ model: `${SMOL}:latest` });
    assert.ok(!s.capabilities.includes('insert'));
    await assert.rejects(ollama.show({ model: 'nope' }), (e) => e.status_code === 404 && /not found/.test(e.error));
  });

  test('ps lists the resident models', async () => {
    const { models } = await ollama.ps();
    assert.equal(models.length, 2);
    assert.ok(models.every((m) => m.size > 0 && m.context_length > 0));
  });

  test('chat, not streamed, with real timings', async () => {
    const r = await ollama.chat({
      model: QWEN, stream: false,
      messages: [{ role: 'user', content: 'What is the capital of France? One word.' }],
      options: { temperature: 0, num_predict: 12 },
    });
    assert.equal(r.model, QWEN);
    assert.equal(r.message.role, 'assistant');
    assert.match(r.message.content, /Paris/);
    assert.ok(['stop', 'length'].includes(r.done_reason));
    assert.ok(r.eval_count <= 12);
    assertTimings(r);
  });

  test('chat streamed (NDJSON) equals the non-streamed reply', async () => {
    const req = {
      model: QWEN, messages: [{ role: 'user', content: 'Name three colors.' }],
      options: { temperature: 0, num_predict: 20, seed: 1 },
    };
    const whole = await ollama.chat({ ...req, stream: false });
    let text = '';
    let last = null;
    let parts = 0;
    for await (const part of await ollama.chat({ ...req, stream: true })) {
      text += part.message.content;
      last = part;
      parts += 1;
    }
    assert.ok(parts > 2);
    assert.equal(text, whole.message.content);
    assert.equal(last.done, true);
    assert.equal(last.eval_count, whole.eval_count);
    assertTimings(last);
  });

  test('generate: templated, streamed, raw, and with a system prompt', async () => {
    const r = await ollama.generate({
      model: QWEN, prompt: 'Say hello.', system: 'You answer in French.', stream: false,
      options: { temperature: 0, num_predict: 16 },
    });
    assert.ok(r.response.length > 0);
    assertTimings(r);
    let text = '';
    for await (const part of await ollama.generate({
      model: QWEN, prompt: 'Count to three.', stream: true, options: { temperature: 0, num_predict: 12 },
    })) text += part.response;
    assert.ok(text.length > 0);
    const raw = await ollama.generate({
      model: QWEN, raw: true, stream: false, keep_alive: '5m',
      prompt: '<|im_start|>user\nWhat is 2+2? Answer with a number only.<|im_end|>\n<|im_start|>assistant\n',
      options: { temperature: 0, num_predict: 4 },
    });
    assert.match(raw.response, /4/);
    assert.ok(raw.prompt_eval_count < 25);  // raw: no system prompt added by a template
  });

  test('generate with suffix fills in the middle; a model without FIM is a 400 naming it', async () => {
    const r = await ollama.generate({
      model: QWEN, prompt: 'def is_even(n):\n    return', suffix: '\n\n\nprint(is_even(4))\n',
      stream: false, options: { temperature: 0, num_predict: 16 },
    });
    assert.match(r.response.replace(/\s/g, ''), /n%2==0/);
    await assert.rejects(
      ollama.generate({ model: SMOL, prompt: 'a', suffix: 'b', stream: false }),
      (e) => e.status_code === 400 && e.error.includes(SMOL),
    );
  });

  test('tool calls in Ollama\'s shape (arguments as an object), and the result round-trip', async () => {
    const messages = [{ role: 'user', content: 'What is the weather in Paris right now?' }];
    const r = await ollama.chat({
      model: QWEN, messages, tools: [weatherTool], stream: false, options: { temperature: 0 },
    });
    assert.equal(r.message.tool_calls.length >= 1, true, JSON.stringify(r.message));
    const call = r.message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof call.function.arguments, 'object');
    assert.match(call.function.arguments.city, /Paris/);

    let streamedCalls = [];
    for await (const part of await ollama.chat({
      model: QWEN, messages, tools: [weatherTool], stream: true, options: { temperature: 0 },
    })) if (part.message.tool_calls) streamedCalls = streamedCalls.concat(part.message.tool_calls);
    assert.deepEqual(streamedCalls.map((c) => c.function), r.message.tool_calls.map((c) => c.function));

    const next = await ollama.chat({
      model: QWEN, stream: false, tools: [weatherTool], options: { temperature: 0, num_predict: 40 },
      messages: [...messages, r.message, { role: 'tool', tool_name: 'get_weather', content: '{"temp_c": 21, "sky": "sunny"}' }],
    });
    // The result is taken (the 0.5B model may answer or call again; either is a valid turn).
    assert.equal(next.done, true);
    assert.ok(next.message.content.length > 0 || next.message.tool_calls?.length > 0);
  });

  test('server tools (declared by name) run inside the request', async () => {
    const r = await ollama.chat({
      model: QWEN, stream: false, options: { temperature: 0, num_predict: 80 },
      tools: [{ type: 'function', function: { name: 'calculator' } }],
      messages: [{ role: 'user', content: 'Use the calculator to compute 1234 * 5678.' }],
    });
    assert.ok(!r.message.tool_calls?.length);
    assert.ok(r.message.toolgate_tool_runs?.length >= 1, JSON.stringify(r.message));
    assert.match(r.message.content.replace(/,/g, ''), /7006652/);
  });

  test('format "json" gives a JSON object', async () => {
    const r = await ollama.chat({
      model: QWEN, stream: false, format: 'json', options: { temperature: 0, num_predict: 60 },
      messages: [{ role: 'user', content: 'Give a JSON object with keys "name" (string) and "age" (number) for a person called Ann aged 30. Reply with JSON only.' }],
    });
    const obj = JSON.parse(r.message.content.replace(/^```(json)?\s*|\s*```$/g, ''));
    assert.equal(typeof obj, 'object');
    assert.equal(obj.name, 'Ann');
  });

  test('format as a JSON schema: a schema-shaped object, or a clear 400 until structured outputs land', async () => {
    const schema = {
      type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } },
      required: ['name', 'age'], additionalProperties: false,
    };
    try {
      const r = await ollama.chat({
        model: QWEN, stream: false, format: schema, options: { temperature: 0, num_predict: 60 },
        messages: [{ role: 'user', content: 'Ann is 30 years old. Describe her as JSON.' }],
      });
      const obj = JSON.parse(r.message.content);
      assert.deepEqual(Object.keys(obj).sort(), ['age', 'name']);
      assert.equal(typeof obj.age, 'number');
    } catch (e) {
      if (!(e.status_code === 400 && /json_schema|response_format/.test(e.error))) throw e;
    }
  });

  test('errors in Ollama\'s shape', async () => {
    await assert.rejects(ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status_code === 404 && /nope/.test(e.error));
    await assert.rejects(ollama.chat({
      model: QWEN, stream: false, messages: [{ role: 'user', content: 'x', images: ['aGVsbG8='] }],
    }), (e) => e.status_code === 400 && /image/.test(e.error));
    await assert.rejects(ollama.chat({
      model: QWEN, stream: false, messages: [{ role: 'user', content: 'x' }], options: { num_ctx: 10_000_000 },
    }), (e) => e.status_code === 400 && /num_ctx/.test(e.error));
    await assert.rejects(ollama.chat({
      model: QWEN, stream: false, messages: [{ role: 'user', content: 'x' }], options: { temperature: 9 },
    }), (e) => e.status_code === 400 && /temperature/.test(e.error));
    const r = await fetch(`${server.baseURL}/api/pull`, {
      method: 'POST', headers: { Authorization: `Bearer ${API_KEY}` }, body: '{}',
    });
    assert.equal(r.status, 404);
    assert.equal(typeof (await r.json()).error, 'string');
    const unauthorized = await fetch(`${server.baseURL}/api/tags`);
    assert.equal(unauthorized.status, 401);
    assert.equal(typeof (await unauthorized.json()).error, 'string');
  });

  test('an empty chat only loads the model', async () => {
    const r = await ollama.chat({ model: QWEN, messages: [], stream: false });
    assert.equal(r.done, true);
    assert.equal(r.done_reason, 'load');
  });
});
