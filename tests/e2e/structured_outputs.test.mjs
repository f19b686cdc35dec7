// Structured outputs end to end: response_format json_schema / json_object on the real
// Qwen2.5-Coder-0.5B model through the official openai SDK. Every reply that finishes with
// "stop" must parse and validate against its schema; ajv (draft 2020-12) with ajv-formats is
// the independent judge. Each schema runs greedy and at temperature 1.0 with several seeds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { API_KEY, skipReason, startServer, toolModelPath } from './server.mjs';
import { schemas } from './data/structured_schemas.mjs';

const skip = skipReason(toolModelPath());
const SEEDS = [11, 22, 33];

function judge() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv;
}

// Runs `tasks` (functions returning promises) with at most `limit` in flight.
async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

const system = 'You are a helpful assistant. Answer in JSON.';

describe('structured outputs (Qwen2.5-Coder-0.5B)', { skip: skip ?? false, timeout: 900_000 }, () => {
  let server;
  let client;
  before(async () => {
    server = await startServer({
      model: { id: 'qwen', path: toolModelPath() },
      server: { max_concurrent_requests: 8, max_tokens_per_request: 1024 },
    });
    client = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  after(async () => { await server?.stop(); });

  test(`${schemas.length} real schemas, greedy and sampled: every finished reply validates`, async () => {
    const ajv = judge();
    const runs = [];
    for (const s of schemas) {
      const validate = ajv.compile(s.schema);
      for (const setting of [{ temperature: 0 }, ...SEEDS.map((seed) => ({ temperature: 1.0, seed }))]) {
        runs.push(async () => {
          const r = await client.chat.completions.create({
            model: 'qwen',
            messages: [{ role: 'system', content: system }, { role: 'user', content: s.prompt }],
            response_format: { type: 'json_schema', json_schema: { name: s.name, schema: s.schema, strict: true } },
            max_tokens: 400,
            ...setting,
          });
          const choice = r.choices[0];
          const out = { name: s.name, setting, finish: choice.finish_reason, text: choice.message.content };
          if (choice.finish_reason !== 'stop') return out;
          try {
            out.valid = validate(JSON.parse(out.text));
            out.errors = validate.errors;
          } catch (e) {
            out.valid = false;
            out.errors = String(e);
          }
          return out;
        });
      }
    }
    const results = await pool(runs, 8);
    const finished = results.filter((r) => r.finish === 'stop');
    const invalid = finished.filter((r) => !r.valid);
    assert.deepEqual(invalid.map((r) => ({ name: r.name, setting: r.setting, text: r.text, errors: r.errors })), []);
    // Cut by the length limit is the one allowed exception, and must stay rare.
    const cut = results.filter((r) => r.finish === 'length');
    assert.ok(cut.length <= results.length / 10, `${cut.length} of ${results.length} replies hit max_tokens`);
    assert.equal(results.length - finished.length - cut.length, 0);
    console.log(`structured outputs: ${finished.length}/${results.length} finished and valid, ${cut.length} cut by max_tokens`);
  });

  test('streamed: the concatenated deltas validate', async () => {
    const ajv = judge();
    for (const name of ['recipe', 'tree', 'meeting']) {
      const s = schemas.find((x) => x.name === name);
      const stream = await client.chat.completions.create({
        model: 'qwen', stream: true, temperature: 0, max_tokens: 400,
        messages: [{ role: 'user', content: s.prompt }],
        response_format: { type: 'json_schema', json_schema: { name, schema: s.schema } },
      });
      let text = '';
      let finish = null;
      let chunks = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        chunks += 1;
      }
      assert.equal(finish, 'stop', text);
      assert.ok(chunks > 3);
      const validate = ajv.compile(s.schema);
      assert.ok(validate(JSON.parse(text)), `${name}: ${text} ${JSON.stringify(validate.errors)}`);
    }
  });

  test('the SDK parse() helper with a Zod schema', async () => {
    const Step = z.object({ explanation: z.string().max(80), output: z.string().max(40) });
    const MathReasoning = z.object({ steps: z.array(Step).max(3), final_answer: z.string().max(40) });
    const r = await client.chat.completions.parse({
      model: 'qwen', temperature: 0, max_tokens: 500,
      messages: [{ role: 'user', content: 'Solve 8x + 7 = -23 step by step.' }],
      response_format: zodResponseFormat(MathReasoning, 'math_reasoning'),
    });
    const parsed = r.choices[0].message.parsed;
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(parsed, 'parsed result');
    assert.ok(Array.isArray(parsed.steps));
    assert.equal(typeof parsed.final_answer, 'string');
  });

  test('json_object: any JSON object, also streamed and with n=2', async () => {
    const r = await client.chat.completions.create({
      model: 'qwen', temperature: 1.0, seed: 5, n: 2, max_tokens: 300,
      messages: [{ role: 'user', content: 'Give me three facts about cats.' }],
      response_format: { type: 'json_object' },
    });
    assert.equal(r.choices.length, 2);
    for (const c of r.choices) {
      if (c.finish_reason !== 'stop') continue;
      const v = JSON.parse(c.message.content);
      assert.equal(typeof v, 'object');
      assert.ok(v !== null && !Array.isArray(v));
    }
  });

  test('with logprobs, a stop sequence and max_tokens', async () => {
    const s = schemas.find((x) => x.name === 'sentiment');
    const validate = judge().compile(s.schema);
    const r = await client.chat.completions.create({
      model: 'qwen', temperature: 0, logprobs: true, top_logprobs: 2, stop: ['}', ','],
      messages: [{ role: 'user', content: s.prompt }],
      response_format: { type: 'json_schema', json_schema: { name: 'sentiment', schema: s.schema } },
    });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'stop');
    // A stop sequence cannot cut a structured reply: it ends where its JSON value ends.
    assert.ok(validate(JSON.parse(c.message.content)), c.message.content);
    assert.ok(c.logprobs.content.length > 3);
    assert.equal(c.logprobs.content.map((t) => t.token).join(''), c.message.content);
    const cut = await client.chat.completions.create({
      model: 'qwen', temperature: 0, max_tokens: 5,
      messages: [{ role: 'user', content: s.prompt }],
      response_format: { type: 'json_schema', json_schema: { name: 'sentiment', schema: s.schema } },
    });
    assert.equal(cut.choices[0].finish_reason, 'length');
    assert.ok(cut.choices[0].message.content.startsWith('{'));
  });

  test('constrained and free requests batched together: the free ones are unchanged', async () => {
    const free = { model: 'qwen', temperature: 0, max_tokens: 40, messages: [{ role: 'user', content: 'Name three rivers in Europe.' }] };
    const solo = (await client.chat.completions.create(free)).choices[0].message.content;
    const s = schemas.find((x) => x.name === 'weather');
    const validate = judge().compile(s.schema);
    const mixed = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2
      ? client.chat.completions.create(free)
      : client.chat.completions.create({
        model: 'qwen', temperature: 0, max_tokens: 200, messages: [{ role: 'user', content: s.prompt }],
        response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: s.schema } },
      }))));
    mixed.forEach((r, i) => {
      const text = r.choices[0].message.content;
      if (i % 2) assert.equal(text, solo);
      else assert.ok(validate(JSON.parse(text)), text);
    });
  });

  test('strict schemas with unsupported keywords are refused before generating, naming the keyword', async () => {
    const schema = { type: 'object', properties: { x: { type: 'integer', multipleOf: 3 } }, required: ['x'], additionalProperties: false };
    await assert.rejects(
      client.chat.completions.create({
        model: 'qwen', messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name: 's', schema, strict: true } },
      }),
      (e) => e.status === 400 && e.param === 'response_format.json_schema.schema.properties.x.multipleOf'
        && /multipleOf/.test(e.message),
    );
    // Not strict: relaxed, and the reply still parses.
    const r = await client.chat.completions.create({
      model: 'qwen', temperature: 0, max_tokens: 60, messages: [{ role: 'user', content: 'Give x.' }],
      response_format: { type: 'json_schema', json_schema: { name: 's', schema } },
    });
    assert.equal(typeof JSON.parse(r.choices[0].message.content).x, 'number');
  });

  test('invalid and oversized schemas are 400s', async () => {
    const bad = async (schema, param) => assert.rejects(
      client.chat.completions.create({
        model: 'qwen', messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name: 's', schema } },
      }),
      (e) => e.status === 400 && e.param === param && e.type === 'invalid_request_error',
    );
    await bad({ type: 'object', properties: { a: { type: 'strnig' } } }, 'response_format.json_schema.schema.properties.a.type');
    await bad({ $ref: '#/$defs/nope' }, 'response_format.json_schema.schema.$ref');
    await bad({ type: 'integer', minimum: 5, maximum: 1 }, 'response_format.json_schema.schema.maximum');
    let deep = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { type: 'array', items: deep };
    await assert.rejects(
      client.chat.completions.create({
        model: 'qwen', messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name: 's', schema: deep } },
      }),
      (e) => e.status === 400 && /too large|nesting/.test(e.message),
    );
    // The server is still fine.
    const ok = await client.chat.completions.create({ model: 'qwen', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(ok.choices[0].message.content.length > 0);
  });

  test('strict tools are enforced under tool_choice auto', async () => {
    const tool = {
      type: 'function',
      function: {
        name: 'set_alarm', strict: true,
        description: 'Set an alarm',
        parameters: { type: 'object', properties: { hour: { type: 'integer', minimum: 0, maximum: 23 },
          minute: { type: 'integer', minimum: 0, maximum: 59 }, label: { type: 'string', maxLength: 20 } },
        required: ['hour', 'minute', 'label'], additionalProperties: false },
      },
    };
    const validate = judge().compile(tool.function.parameters);
    for (const seed of SEEDS) {
      const r = await client.chat.completions.create({
        model: 'qwen', temperature: 1.0, seed, tools: [tool], tool_choice: 'auto', max_tokens: 120,
        messages: [{ role: 'user', content: 'Wake me up at 7:30 tomorrow for the gym.' }],
      });
      for (const call of r.choices[0].message.tool_calls ?? []) {
        assert.equal(call.function.name, 'set_alarm');
        assert.ok(validate(JSON.parse(call.function.arguments)), call.function.arguments);
      }
    }
    await assert.rejects(
      client.chat.completions.create({
        model: 'qwen', messages: [{ role: 'user', content: 'x' }],
        tools: [{ ...tool, function: { ...tool.function, parameters: { type: 'object', properties: { h: { type: 'integer', multipleOf: 2 } } } } }],
      }),
      (e) => e.status === 400 && e.param === 'tools[0].function.parameters.properties.h.multipleOf',
    );
  });
});
