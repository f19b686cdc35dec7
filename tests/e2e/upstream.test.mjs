// End-to-end: upstream routing. Instance A serves a local model and forwards other models to
// instance B (another toolgate) over HTTP; the official openai SDK talks to A only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import {
  API_KEY, defaultModelPath, freePort, metric, skipReason, startServerWithConfig,
} from './server.mjs';

const skip = skipReason();
const KEY_B = 'sk-upstream-b';
const B_MODEL = 'smollm2-on-b';

function baseConfig(port, apiKey) {
  return {
    server: {
      host: '127.0.0.1', port, api_keys: [apiKey], max_concurrent_requests: 8, max_queue: 32,
    },
    engine: { kv_budget_bytes: 64 * 1024 * 1024 },
    models: [],
  };
}

describe('upstream models through toolgate', { skip: skip ?? false, timeout: 600_000 }, () => {
  let b;
  let a;
  let clientA;
  let clientB;

  before(async () => {
    const bConfig = baseConfig(await freePort(), KEY_B);
    bConfig.models = [{ id: B_MODEL, path: defaultModelPath() }];
    b = await startServerWithConfig(bConfig);

    const closedPort = await freePort();  // nothing listens there
    const aConfig = baseConfig(await freePort(), API_KEY);
    const upstreamB = { base_url: `${b.baseURL}/v1`, api_key: KEY_B, model: B_MODEL };
    aConfig.models = [
      { id: 'local-smol', path: defaultModelPath() },
      { id: 'remote-smol', aliases: ['remote'], upstream: upstreamB },
      { id: 'remote-wrong-key', upstream: { ...upstreamB, api_key: 'sk-wrong' } },
      {
        id: 'remote-down',
        upstream: { base_url: `http://127.0.0.1:${closedPort}/v1`, retries: 1, timeout_ms: 2000 },
      },
    ];
    a = await startServerWithConfig(aConfig);
    clientA = new OpenAI({ apiKey: API_KEY, baseURL: `${a.baseURL}/v1`, maxRetries: 0 });
    clientB = new OpenAI({ apiKey: KEY_B, baseURL: `${b.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    for (const s of [a, b]) {
      if (!s) continue;
      const code = await s.stop();
      assert.equal(code, 0, `toolgate exit code ${code}; log:\n${s.log()}`);
    }
  });

  const ask = (model, extra = {}) => ({
    model,
    messages: [{ role: 'user', content: 'What is the capital of France?' }],
    temperature: 0,
    max_tokens: 24,
    ...extra,
  });

  test('/v1/models lists local and upstream models', async () => {
    const page = await clientA.models.list();
    const byId = Object.fromEntries(page.data.map((m) => [m.id, m]));
    assert.equal(byId['local-smol']?.owned_by, 'toolgate');
    assert.equal(byId['remote-smol']?.owned_by, 'upstream');
    assert.equal(byId['remote-down']?.owned_by, 'upstream');
    const one = await clientA.models.retrieve('remote-smol');
    assert.equal(one.id, 'remote-smol');
  });

  test('the local model answers', async () => {
    const r = await clientA.chat.completions.create(ask('local-smol'));
    assert.equal(r.model, 'local-smol');
    assert.ok(r.choices[0].message.content.length > 0);
  });

  test('the upstream model answers exactly as B does, under its public id', async () => {
    const direct = await clientB.chat.completions.create(ask(B_MODEL));
    const viaA = await clientA.chat.completions.create(ask('remote-smol'));
    assert.equal(viaA.object, 'chat.completion');
    assert.equal(viaA.model, 'remote-smol');
    assert.equal(viaA.choices[0].message.content, direct.choices[0].message.content);
    assert.equal(viaA.choices[0].finish_reason, direct.choices[0].finish_reason);
    // (cached_tokens differs: B's prefix cache holds the prompt the second time.)
    assert.equal(viaA.usage.prompt_tokens, direct.usage.prompt_tokens);
    assert.equal(viaA.usage.completion_tokens, direct.usage.completion_tokens);
    // An alias reaches the same upstream.
    const viaAlias = await clientA.chat.completions.create(ask('remote'));
    assert.equal(viaAlias.choices[0].message.content, direct.choices[0].message.content);
  });

  test('streaming through A relays the chunks', async () => {
    const whole = await clientA.chat.completions.create(ask('remote-smol'));
    const stream = await clientA.chat.completions.create(
      ask('remote-smol', { stream: true, stream_options: { include_usage: true } }));
    let content = '';
    let finish = null;
    let chunks = 0;
    let usage = null;
    for await (const chunk of stream) {
      chunks += 1;
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.model, 'remote-smol');
      const choice = chunk.choices[0];
      if (choice?.delta?.content) content += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks > 2, `only ${chunks} chunk(s)`);
    assert.equal(content, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.equal(usage?.completion_tokens, whole.usage.completion_tokens);
  });

  test('the raw stream ends with data: [DONE]', async () => {
    const r = await fetch(`${a.baseURL}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(ask('remote-smol', { stream: true, max_tokens: 8 })),
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    const text = await r.text();
    assert.ok(text.endsWith('data: [DONE]\n\n'), text.slice(-200));
    assert.equal(text.match(/data: \[DONE\]/g).length, 1);
  });

  test('an unreachable upstream is a 502 upstream_error, and the server stays up', async () => {
    await assert.rejects(clientA.chat.completions.create(ask('remote-down')), (e) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.equal(e.status, 502);
      assert.equal(e.error?.type, 'upstream_error');
      assert.match(e.message, /127\.0\.0\.1:\d+\/v1/);
      return true;
    });
    await assert.rejects(
      clientA.chat.completions.create(ask('remote-down', { stream: true })),
      (e) => e instanceof OpenAI.APIError && e.status === 502,
    );
    assert.equal((await fetch(`${a.baseURL}/health`)).status, 200);
    const r = await clientA.chat.completions.create(ask('local-smol', { max_tokens: 4 }));
    assert.ok(r.choices.length === 1);
  });

  test("the upstream's 401 for a wrong key is relayed", async () => {
    await assert.rejects(clientA.chat.completions.create(ask('remote-wrong-key')), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      return true;
    });
  });

  test("the upstream's request errors are relayed with their status", async () => {
    await assert.rejects(
      clientA.chat.completions.create(ask('remote-smol', { temperature: 5 })),
      (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, String(e));
        assert.equal(e.param, 'temperature');
        return true;
      },
    );
  });

  test('back-to-back requests reuse a kept-alive connection to B', async () => {
    const reused = async () =>
      (await metric(a.baseURL, 'toolgate:upstream_connections_reused_total')) ?? 0;
    const before = await reused();
    for (let i = 0; i < 3; i += 1) {
      const r = await clientA.chat.completions.create(ask('remote-smol', { max_tokens: 1 }));
      assert.equal(r.model, 'remote-smol');
    }
    // The first may open a connection (an earlier one may have been closed); the next two reuse.
    assert.ok((await reused()) - before >= 2, `reused ${await reused()} (was ${before})`);
  });

  test('a client leaving mid-stream closes the upstream request at once', async () => {
    const before = (await metric(b.baseURL, 'toolgate:client_disconnects_total')) ?? 0;
    const stream = await clientA.chat.completions.create(ask('remote-smol', {
      max_tokens: 400, stream: true,
      messages: [{ role: 'user', content: 'Count from 1 to 1000, one number per line.' }],
    }));
    let chunks = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) chunks += 1;
      if (chunks >= 3) {
        stream.controller.abort();
        break;
      }
    }
    let after = before;
    for (let i = 0; i < 50 && after === before; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      after = await metric(b.baseURL, 'toolgate:client_disconnects_total');
    }
    assert.equal(after, before + 1, 'B did not see the forwarded request go away');
    assert.equal(await metric(b.baseURL, 'toolgate:num_requests_running'), 0);
  });
  test('response_format is passed through to the upstream, which enforces it', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 20 }, country: { type: 'string', enum: ['FR', 'DE', 'IT'] } },
      required: ['city', 'country'],
      additionalProperties: false,
    };
    const r = await clientA.chat.completions.create(ask('remote-smol', {
      max_tokens: 60,
      response_format: { type: 'json_schema', json_schema: { name: 'capital', schema, strict: true } },
    }));
    assert.equal(r.choices[0].finish_reason, 'stop');
    const v = JSON.parse(r.choices[0].message.content);
    assert.deepEqual(Object.keys(v), ['city', 'country']);
    assert.ok(['FR', 'DE', 'IT'].includes(v.country));
    // A strict schema B refuses comes back as B's 400, naming the keyword.
    await assert.rejects(
      clientA.chat.completions.create(ask('remote-smol', {
        response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true,
          schema: { type: 'object', properties: { n: { type: 'integer', multipleOf: 2 } } } } },
      })),
      (e) => e.status === 400 && e.param === 'response_format.json_schema.schema.properties.n.multipleOf',
    );
  });
});
