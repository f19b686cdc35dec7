// Request bodies are never logged above `trace`: at `debug` (the most talkative level below
// it) a marker sent in every part of a request body — messages, tool results, invalid JSON, a
// request past the body limit — never shows up in the server's log; at `trace` it does (the
// rendered prompt), which shows the check can fail. Nor does the name of a model nobody serves
// (body text too: it could carry a newline to forge log lines).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, defaultModelPath, freePort, skipReason, startServerWithConfig } from './server.mjs';

const skip = skipReason();
const MARKER = 'zq7-secret-marker-41xk';

async function exercise(level) {
  const port = await freePort();
  const server = await startServerWithConfig({
    server: { host: '127.0.0.1', port, api_keys: [API_KEY], max_body_bytes: 64 * 1024 },
    logging: { level },
    engine: { kv_budget_bytes: 64 * 1024 * 1024 },
    models: [{ id: 'smol', path: defaultModelPath() }],
  });
  try {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: 'smol', max_tokens: 4, temperature: 0,
      messages: [
        { role: 'system', content: `system ${MARKER}` },
        { role: 'user', content: `user ${MARKER}` },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: `{"q":"${MARKER}"}` } }] },
        { role: 'tool', tool_call_id: 'c1', content: `tool ${MARKER}` },
      ],
      tools: [{ type: 'function', function: { name: 'f', description: MARKER, parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
    });
    const post = (body) => fetch(`${server.baseURL}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` }, body,
    });
    assert.equal((await post(`{"model":"smol","messages":[${MARKER}`)).status, 400);
    assert.equal((await post(JSON.stringify({ model: MARKER, messages: [{ role: 'user', content: MARKER }] }))).status, 404);
    assert.equal((await post(JSON.stringify({ model: 'smol', messages: [{ role: 'user', content: MARKER.repeat(4000) }] }))).status, 413);
    assert.equal((await post(JSON.stringify({ model: 'smol', temperature: MARKER, messages: [] }))).status, 400);
  } finally {
    assert.equal(await server.stop(), 0, server.log());
  }
  return server.log();
}

describe('request bodies in the log', { skip: skip ?? false, timeout: 120_000 }, () => {
  test('at debug level no part of any request body is logged', async () => {
    const log = await exercise('debug');
    assert.ok(log.includes('status=200'), `the access log ran:\n${log}`);
    assert.ok(!log.includes(MARKER), `the marker leaked into the log:\n${log}`);
  });

  test('at trace level the prompt is logged (the check above can fail)', async () => {
    const log = await exercise('trace');
    assert.ok(log.includes(MARKER));
  });
});
