// End-to-end: a plugin that crashes, run with `isolation: process`, behind a model-driven
// server tool call. The crash becomes a failed tool run inside a 200 answer, the server keeps
// serving, and the plugin's next call runs in a fresh helper process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';

import { API_KEY, skipReason, startServer, toolModelPath } from './server.mjs';

const fixture = process.env.TOOLGATE_BIN
  ? path.resolve(path.dirname(process.env.TOOLGATE_BIN), '..', 'tools', 'plugins', 'test_fixtures',
    'libtoolgate_fixture_plugin_misbehaving.so')
  : '';
const skip = skipReason(toolModelPath())
  ?? (existsSync(fixture) ? null : `fixture plugin not built: ${fixture}`);

describe('a crashing plugin under process isolation', { skip: skip ?? false, timeout: 600_000 }, () => {
  let server;
  let client;

  before(async () => {
    server = await startServer({
      model: {
        id: 'qwen', path: toolModelPath(), aliases: [], sampling: { temperature: 0 },
        server_tools: ['fixture_crash', 'fixture_echo'],
      },
      tools: { builtin: [], timeout_ms: 5000, plugins: [{ path: fixture, isolation: 'process', max_memory_bytes: '512MiB' }] },
    });
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.log());
  });

  const runsOf = (r) => r.choices[0].message.toolgate_tool_runs ?? [];

  test('the model calls the crashing tool: a failed run, a 200 answer, the server lives on', async () => {
    const r = await client.chat.completions.create({
      model: 'qwen', temperature: 0, max_tokens: 96,
      messages: [{ role: 'user', content: 'Call the fixture_crash tool now, with no arguments.' }],
    });
    const crashRun = runsOf(r).find((run) => run.function.name === 'fixture_crash');
    assert.ok(crashRun, `the model called fixture_crash: ${JSON.stringify(r.choices[0].message)}`);
    assert.equal(crashRun.ok, false);
    assert.match(crashRun.output, /crashed while running 'fixture_crash'.*signal 11/);
    assert.match(server.log(), /plugin 'fixture' from .* isolation process/);
  });

  test('the next request is answered and the plugin works again in a new process', async () => {
    const plain = await client.chat.completions.create({
      model: 'qwen', temperature: 0, max_tokens: 8, messages: [{ role: 'user', content: 'Say hi.' }],
    });
    assert.equal(plain.choices[0].message.role, 'assistant');
    const r = await client.chat.completions.create({
      model: 'qwen', temperature: 0, max_tokens: 96,
      messages: [{ role: 'user', content: 'Call the fixture_echo tool with the argument {"word": "back"}.' }],
    });
    const echo = runsOf(r).find((run) => run.function.name === 'fixture_echo');
    assert.ok(echo, `the model called fixture_echo: ${JSON.stringify(r.choices[0].message)}`);
    assert.equal(echo.ok, true, JSON.stringify(echo));
  });
});
