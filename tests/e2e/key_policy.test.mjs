// End-to-end: named API keys with policies. A key at 60 requests/minute gets 60 answers and a
// 429 with Retry-After and OpenAI's x-ratelimit-* headers on the 61st (the model list carries
// them too, without spending a request); its usage counters on
// /metrics (behind a key: server.metrics_auth) equal the sum of `usage` in the answers; a key
// limited to other models is refused; logs name keys, never show them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { defaultModelPath, freePort, skipReason, startServerWithConfig } from './server.mjs';

const skip = skipReason();
const ALICE = 'sk-alice-0123456789';
const BOB = 'sk-bob-0123456789';

describe('named API keys with policies', { skip: skip ?? false, timeout: 180_000 }, () => {
  let server;
  let alice;

  before(async () => {
    server = await startServerWithConfig({
      server: {
        host: '127.0.0.1', port: await freePort(), max_concurrent_requests: 8, max_queue: 128,
        metrics_auth: true,
        keys: [
          { name: 'alice', key: ALICE, requests_per_minute: 60 },
          { name: 'bob', key: BOB, models: ['some-other-model'] },
        ],
      },
      engine: { kv_budget_bytes: 64 * 1024 * 1024 },
      models: [{ id: 'smol', path: defaultModelPath() }],
    });
    alice = new OpenAI({ apiKey: ALICE, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (!server) return;
    const code = await server.stop();
    assert.equal(code, 0, server.log());
  });

  async function metrics(key) {
    const r = await fetch(`${server.baseURL}/metrics`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
    return { status: r.status, text: await r.text() };
  }

  function sample(text, name, label) {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}} `));
    return line ? Number(line.split(' ').pop()) : null;
  }

  test('/metrics needs a key with metrics_auth', async () => {
    assert.equal((await metrics()).status, 401);
    assert.equal((await metrics(ALICE)).status, 200);
  });

  test('60 requests a minute pass, the 61st gets 429 with the rate-limit headers', async () => {
    // 61 at once: the limit is checked on arrival, and a burst arrives well within the second
    // the bucket would need to refill one token.
    const outcomes = await Promise.all(Array.from({ length: 61 }, (_, i) => alice.chat.completions
      .create({ model: 'smol', messages: [{ role: 'user', content: `Say ${i}.` }], max_tokens: 2 })
      .withResponse()
      .catch((e) => e)));
    const answers = outcomes.filter((o) => !(o instanceof Error));
    const refused = outcomes.filter((o) => o instanceof Error);
    assert.equal(answers.length, 60, refused.map(String).join('\n'));
    assert.equal(refused.length, 1);
    for (const { response } of answers) {
      assert.equal(response.headers.get('x-ratelimit-limit-requests'), '60');
      assert.ok(Number(response.headers.get('x-ratelimit-remaining-requests')) < 60);
      assert.match(response.headers.get('x-ratelimit-reset-requests'), /^\d+(\.\d+)?(ms|s)$|^\d+m\d+s$/);
    }
    const e = refused[0];
    assert.ok(e instanceof OpenAI.RateLimitError, String(e));
    assert.equal(e.status, 429);
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.ok(Number(e.headers.get('retry-after')) >= 1);
    assert.equal(e.headers.get('x-ratelimit-limit-requests'), '60');
    assert.equal(e.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.match(e.headers.get('x-ratelimit-reset-requests'), /^\d+(\.\d+)?s$|^\d+m\d+s$/);

    // Usage counters equal the sum of the answers' usage.
    const prompt = answers.reduce((a, { data }) => a + data.usage.prompt_tokens, 0);
    const completion = answers.reduce((a, { data }) => a + data.usage.completion_tokens, 0);
    const { text } = await metrics(ALICE);
    assert.equal(sample(text, 'toolgate:api_key_requests_total', 'key="alice"'), 60);
    assert.equal(sample(text, 'toolgate:api_key_prompt_tokens_total', 'key="alice"'), prompt);
    assert.equal(sample(text, 'toolgate:api_key_completion_tokens_total', 'key="alice"'), completion);
    assert.equal(sample(text, 'toolgate:api_key_rate_limited_total', 'key="alice"'), 1);
    assert.ok(!text.includes(ALICE));
  });

  test('the model list carries the limits, and is not refused with no request left', async () => {
    // Right after the burst alice has no request left this minute; listing models takes none.
    const { data, response } = await alice.models.list().withResponse();
    assert.equal(response.status, 200);
    assert.ok(data.data.some((m) => m.id === 'smol'));
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '60');
    assert.ok(Number(response.headers.get('x-ratelimit-remaining-requests')) < 60);
    assert.match(response.headers.get('x-ratelimit-reset-requests'), /^\d+(\.\d+)?s$|^\d+m\d+s$/);
  });

  test("a key limited to other models is refused with 403 model_not_allowed", async () => {
    const bob = new OpenAI({ apiKey: BOB, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    await assert.rejects(
      bob.chat.completions.create({ model: 'smol', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 }),
      (e) => e.status === 403 && e.code === 'model_not_allowed');
  });

  test('the log names keys and never shows them', () => {
    const log = server.log();
    assert.ok(log.includes('key=alice'), log.slice(-2000));
    assert.ok(!log.includes(ALICE) && !log.includes(BOB));
  });
});
