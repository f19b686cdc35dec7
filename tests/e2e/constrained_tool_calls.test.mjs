// Grammar-constrained tool calls end to end: with tool_choice naming a function or "required",
// sampling at temperature 1.0 from the 0.5B tool model must still give calls to an allowed
// tool whose arguments parse and follow the schema, for every seed. (Unconstrained, this model
// at this temperature regularly writes broken JSON, unknown keys or a wrong enum value.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, skipReason, startServer, toolModelPath } from './server.mjs';

const skip = skipReason(toolModelPath());

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the weather forecast for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', description: 'City name' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', description: 'Number of forecast days' },
        details: {
          type: 'object',
          properties: { wind: { type: 'boolean' }, hourly: { type: 'boolean' } },
          additionalProperties: false,
        },
      },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};

const eventTool = {
  type: 'function',
  function: {
    name: 'create_event',
    description: 'Create a calendar event',
    parameters: {
      type: 'object',
      properties: {
        title: { type: 'string' },
        attendees: { type: 'array', items: { type: 'string' } },
        priority: { type: 'integer', enum: [1, 2, 3] },
      },
      required: ['title', 'priority'],
      additionalProperties: false,
    },
  },
};

const tools = [weatherTool, eventTool];
const schemas = Object.fromEntries(tools.map((t) => [t.function.name, t.function.parameters]));

// The subset of JSON Schema these tools use; returns a list of problems ([] = valid).
function violations(schema, value, path = '$') {
  const out = [];
  const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array'
    : Number.isInteger(v) ? 'integer' : typeof v);
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    out.push(`${path}: ${JSON.stringify(value)} not in enum`);
  const t = typeOf(value);
  if (schema.type && !(schema.type === t || (schema.type === 'number' && t === 'integer'))) {
    out.push(`${path}: expected ${schema.type}, got ${t}`);
    return out;
  }
  if (t === 'object') {
    for (const key of schema.required ?? [])
      if (!(key in value)) out.push(`${path}: missing ${key}`);
    for (const [key, v] of Object.entries(value)) {
      const sub = schema.properties?.[key];
      if (sub) out.push(...violations(sub, v, `${path}.${key}`));
      else if (schema.additionalProperties === false) out.push(`${path}: unexpected key ${key}`);
    }
  }
  if (t === 'array' && schema.items)
    value.forEach((v, i) => out.push(...violations(schema.items, v, `${path}[${i}]`)));
  return out;
}

describe('constrained tool calls with the openai SDK', { skip: skip ?? false, timeout: 900_000 }, () => {
  let server;
  let client;
  const model = 'qwen';
  const seeds = [1, 2, 3, 4, 5];

  before(async () => {
    server = await startServer({ model: { id: model, path: toolModelPath(), aliases: [] } });
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.log());
  });

  const ask = (content, extra) => client.chat.completions.create({
    model, tools, temperature: 1.0, max_tokens: 120,
    messages: [{ role: 'user', content }], ...extra,
  });

  const checkCalls = (r, allowed) => {
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls', JSON.stringify(r));
    assert.ok(choice.message.tool_calls.length >= 1, JSON.stringify(r));
    for (const call of choice.message.tool_calls) {
      assert.ok(allowed.includes(call.function.name), call.function.name);
      const args = JSON.parse(call.function.arguments);
      assert.deepEqual(violations(schemas[call.function.name], args), [], call.function.arguments);
    }
  };

  test('a named function is called with schema-valid arguments for every seed', async () => {
    for (const seed of seeds) {
      const r = await ask('Plan a team meeting about the budget with Ann and Bob.', {
        seed, tool_choice: { type: 'function', function: { name: 'get_weather' } },
      });
      checkCalls(r, ['get_weather']);
    }
  });

  test('"required" calls a declared tool with schema-valid arguments for every seed', async () => {
    for (const seed of seeds) {
      const r = await ask('Set up a high-priority review meeting with Carol, and tell me if it will rain in Lyon.', {
        seed, tool_choice: 'required',
      });
      checkCalls(r, ['get_weather', 'create_event']);
    }
  });

  test('the same seed gives the same constrained call', async () => {
    const a = await ask('Weather in Oslo in fahrenheit?', { seed: 42, tool_choice: 'required' });
    const b = await ask('Weather in Oslo in fahrenheit?', { seed: 42, tool_choice: 'required' });
    assert.deepEqual(a.choices[0].message.tool_calls.map((c) => c.function),
      b.choices[0].message.tool_calls.map((c) => c.function));
  });
});
