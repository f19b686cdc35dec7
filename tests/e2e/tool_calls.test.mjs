// End-to-end tool calling with the tool-capable model (Qwen2.5-Coder 0.5B): client tools come
// back as tool_calls; tools the server runs itself show up in toolgate_tool_runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, skipReason, startServer, toolModelPath } from './server.mjs';

const skip = skipReason(toolModelPath());

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

describe('tool calls with the openai SDK', { skip: skip ?? false, timeout: 600_000 }, () => {
  let server;
  let client;
  const model = 'qwen';

  before(async () => {
    server = await startServer({
      model: { id: model, path: toolModelPath(), aliases: [], sampling: { temperature: 0 } },
      tools: { builtin: ['add'], timeout_ms: 5000 },
    });
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.log());
  });

  const weatherQuestion = [{ role: 'user', content: 'What is the weather like in Paris today?' }];

  test('a named tool_choice forces a client tool call with JSON arguments', async () => {
    const r = await client.chat.completions.create({
      model, messages: weatherQuestion, tools: [weatherTool], temperature: 0, max_tokens: 64,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.match(call.id, /^call_/);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    const args = JSON.parse(call.function.arguments);
    assert.equal(typeof args, 'object');
    assert.ok(!(choice.message.content ?? '').includes('<tool_call>'), 'no markup in content');
  });

  test('streamed tool-call deltas assemble into the same call', async () => {
    const params = {
      model, messages: weatherQuestion, tools: [weatherTool], temperature: 0, max_tokens: 64,
      tool_choice: 'required',
    };
    const whole = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const calls = [];
    let finish = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!c) continue;
      for (const d of c.delta.tool_calls ?? []) {
        if (d.id) calls[d.index] = { id: d.id, name: d.function.name, arguments: '' };
        calls[d.index].arguments += d.function?.arguments ?? '';
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
    assert.equal(finish, 'tool_calls');
    assert.equal(calls.length, whole.choices[0].message.tool_calls.length);
    assert.equal(calls[0].name, whole.choices[0].message.tool_calls[0].function.name);
    assert.deepEqual(JSON.parse(calls[0].arguments),
      JSON.parse(whole.choices[0].message.tool_calls[0].function.arguments));
  });

  test('the client sends the tool result back and gets an answer', async () => {
    const first = await client.chat.completions.create({
      model, messages: weatherQuestion, tools: [weatherTool], temperature: 0, max_tokens: 64,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const call = first.choices[0].message.tool_calls[0];
    const second = await client.chat.completions.create({
      model, tools: [weatherTool], temperature: 0, max_tokens: 48, tool_choice: 'none',
      messages: [
        ...weatherQuestion,
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: '{"temperature_c": 21, "sky": "sunny"}' },
      ],
    });
    assert.equal(typeof second.choices[0].message.content, 'string');
    assert.ok(second.choices[0].message.content.length > 0);
  });

  test('a server tool named by the request runs inside the server', async () => {
    const r = await client.chat.completions.create({
      model, temperature: 0, max_tokens: 96,
      messages: [{ role: 'user', content: 'Use the add tool to add 2 and 3.' }],
      tools: [{ type: 'function', function: { name: 'add' } }],
      tool_choice: 'required',
    });
    const msg = r.choices[0].message;
    assert.ok(Array.isArray(msg.toolgate_tool_runs) && msg.toolgate_tool_runs.length >= 1,
      JSON.stringify(r));
    const run = msg.toolgate_tool_runs[0];
    assert.equal(run.function.name, 'add');
    assert.equal(run.round, 1);
    assert.equal(typeof run.output, 'string');
    assert.ok(!(msg.tool_calls ?? []).some((c) => c.function.name === 'add' && r.choices[0].finish_reason !== 'tool_calls'));
    assert.ok(r.usage.completion_tokens > 0);
  });
});
