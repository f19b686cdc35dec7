// The built-in web chat in a real browser: Debian's chromium, headless, driven by
// playwright-core. Opens /, enters the API key, picks the model, sends a message and watches
// the answer stream in over several steps, stops a long answer (the server's running count
// drops back to 0), reloads, finds the conversation in the list and opens its history; and
// checks the phone-width layout; a server tool run is shown and stored; conversations are
// renamed and deleted. With TOOLGATE_SCREENSHOT=FILE it saves a screenshot (docs/web-chat.png).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { API_KEY, defaultModelPath, freePort, metric, skipReason, startServerWithConfig } from './server.mjs';

const CHROMIUM = process.env.TOOLGATE_CHROMIUM ?? '/usr/bin/chromium';
let playwright = null;
try {
  playwright = await import('playwright-core');
} catch { /* reported as a skip below */ }
const skip = skipReason() ??
  (existsSync(CHROMIUM) ? null : `no browser at ${CHROMIUM} (apt-get install chromium)`) ??
  (playwright ? null : 'playwright-core is not installed (npm ci)');

const MODEL = 'smollm2-135m-instruct';
const TOOLS_MODEL = 'scripted-tools';

// A scripted OpenAI-compatible upstream: it asks for the calculator, then answers with the
// tool's result, so the page's display of a server tool run is checked deterministically.
function startScriptedUpstream() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const { messages } = JSON.parse(body);
      const tool = messages.find((m) => m.role === 'tool');
      const message = tool
        ? { role: 'assistant', content: `**1234 × 5678** is \`${tool.content}\`.` }
        : {
          role: 'assistant', content: null,
          tool_calls: [{ id: 'call_1', type: 'function',
            function: { name: 'calculator', arguments: '{"expression":"1234*5678"}' } }],
        };
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({
        id: 'chatcmpl-scripted', object: 'chat.completion', created: 1, model: 'scripted',
        choices: [{ index: 0, message, finish_reason: tool ? 'stop' : 'tool_calls' }],
        usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 },
      }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const FIRST = 'Write a Python function that squares a number.';

describe('web chat in a headless browser', { skip: skip ?? false, timeout: 600_000 }, () => {
  let server, browser, page, upstream;

  before(async () => {
    upstream = await startScriptedUpstream();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-webui-'));
    const port = await freePort();
    server = await startServerWithConfig({
      server: { host: '127.0.0.1', port, api_keys: [API_KEY], max_tokens_per_request: 400 },
      engine: { kv_budget_bytes: 64 * 1024 * 1024 },
      models: [
        { id: 'another-name', path: defaultModelPath() },
        { id: MODEL, path: defaultModelPath() },
        {
          id: TOOLS_MODEL, server_tools: ['calculator'],
          upstream: { base_url: `http://127.0.0.1:${upstream.address().port}/v1`, model: 'scripted' },
        },
      ],
      tools: { builtin: ['calculator'] },
      store: { enabled: true, path: path.join(dir, 'store.db') },
    });
    browser = await playwright.chromium.launch({
      executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  });

  after(async () => {
    await browser?.close();
    upstream?.close();
    if (server) {
      const code = await server.stop();
      assert.equal(code, 0, `toolgate exit code ${code}; log:\n${server.log()}`);
    }
  });

  // Lengths of the answer's text seen while it streams, until it is done or stopped.
  async function watchAnswer(locator, until) {
    const lengths = [];
    for (;;) {
      const [text, cls] = await Promise.all([locator.locator('.body').innerText(), locator.getAttribute('class')]);
      if (lengths.at(-1) !== text.length) lengths.push(text.length);
      if (until(cls, text)) return lengths;
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  test('asks for the key, streams an answer, stops a long one, keeps the history', async () => {
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.baseURL + '/');
    // The server wants a key: the page asks for it (and keeps it in localStorage only).
    await page.locator('#key-dialog').waitFor({ state: 'visible' });
    await page.fill('#api-key', API_KEY);
    await page.click('#key-save');
    await page.waitForFunction(() => document.querySelectorAll('#model option').length === 3);
    assert.ok(!page.url().includes(API_KEY));
    await page.selectOption('#model', MODEL);

    await page.fill('#prompt', FIRST);
    await page.press('#prompt', 'Enter');
    const first = page.locator('.msg.assistant').first();
    const lengths = await watchAnswer(first, (cls) => cls.includes('done'));
    assert.ok(lengths.filter((n) => n > 0).length >= 3, `text grew in steps: ${lengths}`);
    const stats = await first.locator('.stats').innerText();
    assert.match(stats, /TTFT \d+ ms/);
    assert.match(stats, /tokens\/s/);
    const firstAnswer = (await first.locator('.body').innerText()).trim();
    assert.ok(firstAnswer.length > 0);

    // A long answer, stopped while it streams: the request is aborted and the server frees it.
    await page.fill('#prompt', 'Write a very long story about a dragon and a knight, with many chapters.');
    await page.press('#prompt', 'Enter');
    const second = page.locator('.msg.assistant').nth(1);
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant')[1]?.querySelector('.body').innerText.length > 20);
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant')[1]?.classList.contains('stopped'));
    const stoppedText = await second.locator('.body').innerText();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await second.locator('.body').innerText(), stoppedText, 'no text after Stop');
    assert.match(await second.locator('.stats').innerText(), /stopped/);
    let running = null;
    for (let i = 0; i < 50 && running !== 0; i++) {
      running = await metric(server.baseURL, 'toolgate:num_requests_running');
      if (running !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(running, 0, 'the stopped generation is no longer running');

    // Reload: the conversation is listed (from the store), and opening it shows its history.
    await page.reload();
    const item = page.locator('#conversations li').first();
    await item.waitFor();
    assert.equal(await item.locator('.title').innerText(), FIRST);
    assert.equal(await page.locator('.msg').count(), 0);
    await item.locator('.title').click();
    await page.locator('.msg.assistant').first().waitFor();
    const texts = await page.locator('.msg').allInnerTexts();
    assert.equal(texts[0].trim(), FIRST);
    assert.equal((await page.locator('.msg.assistant .body').first().innerText()).trim(), firstAnswer);
    assert.match(await page.locator('.msg.assistant .stats').first().innerText(), /\d+ tokens/);
    assert.deepEqual(errors, []);

    // TOOLGATE_SCREENSHOT=docs/web-chat.png refreshes the README's picture.
    if (process.env.TOOLGATE_SCREENSHOT) await page.screenshot({ path: process.env.TOOLGATE_SCREENSHOT });
  });

  test('shows a server tool run, and stores it with the answer (upstream model)', async () => {
    await page.click('#new-chat');
    await page.selectOption('#model', TOOLS_MODEL);
    await page.fill('#prompt', 'What is 1234 * 5678?');
    await page.press('#prompt', 'Enter');
    const answer = page.locator('.msg.assistant').last();
    await page.waitForFunction(() => [...document.querySelectorAll('.msg.assistant')].at(-1)?.classList.contains('done'));
    const run = answer.locator('.tool-run');
    assert.equal(await run.count(), 1);
    assert.match(await run.locator('summary').innerText(), /calculator\(\{"expression":"1234\*5678"\}\)/);
    assert.match(await run.locator('pre').textContent(), /7006652/);
    assert.equal(await answer.locator('.body strong').innerText(), '1234 × 5678');
    assert.match(await answer.locator('.body code').innerText(), /7006652/);
    // The stored completion has the run too.
    const headers = { Authorization: `Bearer ${API_KEY}` };
    const list = await (await fetch(`${server.baseURL}/v1/chat/completions?model=${TOOLS_MODEL}`, { headers })).json();
    assert.equal(list.data.length, 1);
    const runs = list.data[0].choices[0].message.toolgate_tool_runs;
    assert.equal(runs[0].function.name, 'calculator');
    assert.match(runs[0].output, /7006652/);
    assert.equal(list.data[0].usage.total_tokens, 56, 'usage of both rounds');
  });

  test('renames and deletes a conversation from the list', async () => {
    await page.reload();
    const items = page.locator('#conversations li');
    await items.first().waitFor();
    const count = await items.count();
    const item = items.filter({ hasText: FIRST });
    page.once('dialog', (d) => d.accept('Squares'));
    await item.getByRole('button', { name: 'Rename' }).click();
    await page.locator('#conversations li', { hasText: 'Squares' }).waitFor();
    // The new title is the completion's metadata: it survives a reload.
    await page.reload();
    const renamed = page.locator('#conversations li', { hasText: 'Squares' });
    await renamed.waitFor();
    page.once('dialog', (d) => d.accept());
    await renamed.getByRole('button', { name: 'Delete' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('#conversations li').length === n - 1, count);
    const headers = { Authorization: `Bearer ${API_KEY}` };
    const left = await (await fetch(`${server.baseURL}/v1/chat/completions?model=${MODEL}`, { headers })).json();
    assert.equal(left.data.length, 0, 'every completion of the conversation is deleted');
  });

  test('fits a phone-width screen', async () => {
    const phone = await browser.newPage({ viewport: { width: 375, height: 740 }, isMobile: true });
    await phone.addInitScript((key) => localStorage.setItem('toolgate.apiKey', key), API_KEY);
    await phone.goto(server.baseURL + '/');
    await phone.waitForFunction(() => document.querySelectorAll('#model option').length === 3);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
    assert.ok(await phone.locator('#open-sidebar').isVisible());
    assert.ok(!(await phone.locator('#conversations').isVisible()) ||
      (await phone.locator('#sidebar').boundingBox()).x < 0, 'the list is tucked away');
    await phone.click('#open-sidebar');
    await phone.locator('#conversations li').first().waitFor({ state: 'visible' });
    await phone.close();
  });
});
