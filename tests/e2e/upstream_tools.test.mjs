// End-to-end: the server-tool loop around an upstream model. Instance B serves the tool model
// with no server tools; instance A forwards `qwen-remote` to B with `server_tools: [calculator]`,
// so the calculator runs in A between B's rounds. The official openai SDK talks to A only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import {
  API_KEY, freePort, metric, skipReason, startServerWithConfig, toolModelPath,
} from './server.mjs';

const skip = skipReason(toolModelPath());
const KEY_B = 'sk-upstream-b';
const QUESTION = 'What is 1234 * 5678? Use the calculator.';

// "7,006,652" and "7006652" are the same answer.
const mentions = (text, n) => (text ?? '').replace(/(\d),(?=\d{3}\b)/g, '$1').includes(String(n));

function baseConfig(port, apiKey) {
  return {
    server: {
      host: '127.0.0.1', port, api_keys: [apiKey], max_concurrent_requests: 8, max_queue: 32,
    },
    engine: { kv_budget_bytes: 64 * 1024 * 1024 },
    models: [],
  };
}

describe('server tools on an upstream model', { skip: skip ?? false, timeout: 600_000 }, () => {
  let a;
  let b;
  let client;

  before(async () => {
    const bConfig = baseConfig(await freePort(), KEY_B);
    bConfig.models = [{ id: 'qwen', path: toolModelPath() }];  // no server tools on B
    b = await startServerWithConfig(bConfig);

    const aConfig = baseConfig(await freePort(), API_KEY);
    aConfig.models = [{
      id: 'qwen-remote',
      upstream: { base_url: `${b.baseURL}/v1`, api_key: KEY_B, model: 'qwen' },
      server_tools: ['calculator'],
    }];
    aConfig.tools = { builtin: ['calculator'], timeout_ms: 5000 };
    a = await startServerWithConfig(aConfig);
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${a.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    for (const s of [a, b]) {
      if (!s) continue;
      const code = await s.stop();
      assert.equal(code, 0, `toolgate exit code ${code}; log:\n${s.log()}`);
    }
  });

  const ask = (extra = {}) => ({
    model: 'qwen-remote',
    temperature: 0,
    max_tokens: 160,
    messages: [{ role: 'user', content: QUESTION }],
    ...extra,
  });

  test('non-streamed: the calculator runs in A and the answer is 7006652', async () => {
    const runsBefore = (await metric(a.baseURL, 'toolgate:tool_runs_total')) ?? 0;
    const r = await client.chat.completions.create(ask());
    assert.equal(r.model, 'qwen-remote');
    const msg = r.choices[0].message;
    const runs = msg.toolgate_tool_runs ?? [];
    assert.ok(runs.length >= 1, JSON.stringify(r));
    assert.equal(runs[0].function.name, 'calculator');
    assert.equal(runs[0].type, 'function');
    assert.equal(runs[0].round, 1);
    assert.equal(runs[0].ok, true, JSON.stringify(runs[0]));
    assert.ok(mentions(runs[0].output, 7006652), runs[0].output);
    assert.equal(r.choices[0].finish_reason, 'stop', JSON.stringify(r));
    assert.ok(!msg.tool_calls || msg.tool_calls.length === 0, 'server calls are not client calls');
    assert.ok(mentions(msg.content, 7006652), `final answer: ${JSON.stringify(msg.content)}`);
    // Usage covers both of B's rounds: the second prompt holds the first one and the result.
    assert.ok(r.usage.prompt_tokens > 2 * 20, JSON.stringify(r.usage));
    // The tool ran in A (B has no tools at all).
    const runsAfter = await metric(a.baseURL, 'toolgate:tool_runs_total');
    assert.equal(runsAfter, runsBefore + runs.length);
  });

  test('streamed: a toolgate_tool_runs chunk, then the answer and the usage chunk', async () => {
    const stream = await client.chat.completions.create(
      ask({ stream: true, stream_options: { include_usage: true } }));
    let content = '';
    let finish = null;
    let usage = null;
    let role = null;
    const runs = [];
    const ids = new Set();
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.model, 'qwen-remote');
      ids.add(chunk.id);
      const choice = chunk.choices[0];
      if (choice?.delta?.role) role = choice.delta.role;
      if (choice?.delta?.toolgate_tool_runs) runs.push(...choice.delta.toolgate_tool_runs);
      assert.ok(!choice?.delta?.tool_calls, 'server calls are not streamed as tool_calls');
      if (choice?.delta?.content) content += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(role, 'assistant');
    assert.equal(ids.size, 1);
    assert.ok(runs.length >= 1);
    assert.equal(runs[0].function.name, 'calculator');
    assert.ok(mentions(runs[0].output, 7006652), runs[0].output);
    assert.equal(finish, 'stop');
    assert.ok(mentions(content, 7006652), `final answer: ${JSON.stringify(content)}`);
    assert.ok(usage?.completion_tokens > 0, JSON.stringify(usage));
  });
});
