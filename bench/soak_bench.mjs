#!/usr/bin/env node
// Soak and chaos: the real toolgate binary and the default model (SmolLM2-135M) under a mixed,
// partly hostile load for a bounded time, then a cancel storm, with the server's health checked
// after each phase. Loopback only; every loop is bounded in time and count.
//
//   node bench/soak_bench.mjs [--bin build/release/gateway/toolgate] [--model models/SmolLM2-135M-Instruct-Q4_1.gguf]
//        [--duration-s 600] [--clients 32] [--storm 10000] [--storm-concurrency 16] [--storm-max-s 1800]
//        [--threads 2] [--kv-preallocate] [--skip-soak] [--skip-storm]
//
// Soak: `--clients` clients for `--duration-s` seconds, each picking at random: streamed and
// non-streamed chats, a client-side tool loop (tool_choice required, then the tool's result),
// a server-side tool loop (the calculator), a client that hangs up at a random point, a client
// that reads its stream very slowly, a slowloris header, an oversized body, invalid JSON; and
// every 20 s a burst of requests past the queue limit (429 is the right answer there).
// Cancel storm: `--storm` streamed requests, each cut at a random point (before the head, after
// a few chunks, ...), `--storm-concurrency` at a time.
//
// After each phase: the server is idle (no request running or waiting), KV blocks in use = 0
// (/metrics), open fds back to the idle count (/proc/PID/fd), RSS (minute 2 vs the end),
// 5xx answers to valid requests (must be 0), malformed valid answers (must be 0).
// Prints one JSON object; exits 1 if a check failed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function parseArgs(argv) {
  const o = {
    bin: path.join(repo, 'build/release/gateway/toolgate'),
    model: path.join(repo, 'models/SmolLM2-135M-Instruct-Q4_1.gguf'),
    durationS: 600, clients: 32, storm: 10_000, stormConcurrency: 16, stormMaxS: 1800, threads: 2,
    soak: true, cancelStorm: true, kvPreallocate: false,
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--bin') o.bin = path.resolve(next());
    else if (a === '--model') o.model = path.resolve(next());
    else if (a === '--duration-s') o.durationS = Number(next());
    else if (a === '--clients') o.clients = Number(next());
    else if (a === '--storm') o.storm = Number(next());
    else if (a === '--storm-concurrency') o.stormConcurrency = Number(next());
    else if (a === '--storm-max-s') o.stormMaxS = Number(next());
    else if (a === '--threads') o.threads = Number(next());
    else if (a === '--kv-preallocate') o.kvPreallocate = true;
    else if (a === '--skip-soak') o.soak = false;
    else if (a === '--skip-storm') o.cancelStorm = false;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = (n) => Math.floor(Math.random() * n);
const MAX_BODY = 256 * 1024;
const LIMITS = { max_concurrent_requests: 32, max_queue: 32 };
const IDLE_TIMEOUT_MS = 5000;  // idle keep-alive connections close after this

// ---- the server ------------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startServer() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-soak-'));
  const config = {
    server: {
      host: '127.0.0.1', port, api_keys: [], max_body_bytes: MAX_BODY, header_timeout_ms: 3000,
      idle_timeout_ms: IDLE_TIMEOUT_MS, max_tokens_per_request: 256, ...LIMITS,
    },
    logging: { level: 'warn', access_log: false },
    // kv_preallocate off (the default), RSS also grows as the prefix cache first touches the 2 x 64 MiB
    // of KV; on, that memory is resident from the start and what grows is everything else.
    engine: { threads: opts.threads, kv_budget_bytes: 64 * 1024 * 1024, max_num_seqs: 16,
      kv_preallocate: opts.kvPreallocate },
    models: [
      { id: 'smol', path: opts.model },
      { id: 'smol-tools', path: opts.model, server_tools: ['calculator'] },
    ],
    tools: { builtin: ['calculator'] },
    store: { enabled: true, path: path.join(dir, 'soak.db') },
  };
  const configPath = path.join(dir, 'soak.yaml');
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(opts.bin, ['--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let log = '';
  const keep = (d) => { log = (log + d).slice(-200_000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; ++i) {
    if (child.exitCode !== null) throw new Error(`toolgate exited:\n${log}`);
    if (i > 600) throw new Error(`toolgate did not become healthy:\n${log}`);
    try { if ((await fetch(`${base}/health`)).status === 200) break; } catch { /* not yet */ }
    await sleep(200);
  }
  return { child, port, base, log: () => log };
}

async function metrics(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const sum = (name) => {
    let total = 0;
    for (const line of text.split('\n')) {
      const m = line.match(/^([^{\s]+)(\{[^}]*\})?\s+(\S+)$/);
      if (m && m[1] === name) total += Number(m[3]);
    }
    return total;
  };
  return {
    kvBlocksUsed: sum('toolgate:kv_blocks_used'),
    running: sum('toolgate:gateway_requests_running'),
    waiting: sum('toolgate:gateway_requests_waiting'),
    engineRunning: sum('toolgate:num_requests_running'),
    engineWaiting: sum('toolgate:num_requests_waiting'),
    disconnects: sum('toolgate:client_disconnects_total'),
  };
}

const fdCount = (pid) => readdirSync(`/proc/${pid}/fd`).length;
function rssMiB(pid, field = 'VmRSS') {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
  return m ? Number(m[1]) / 1024 : NaN;
}
const load1 = () => os.loadavg()[0];

// Waits until no request runs or waits (in the gateway and the engines), up to 60 s.
async function settle(base) {
  let m;
  for (let i = 0; i < 300; ++i) {
    m = await metrics(base);
    if (m.running + m.waiting + m.engineRunning + m.engineWaiting === 0) break;
    await sleep(200);
  }
  // Idle keep-alive connections of this process's fetch() pool count as open fds until the
  // server's idle timeout closes them.
  await sleep(IDLE_TIMEOUT_MS + 1500);
  return metrics(base);
}

// ---- tallies ---------------------------------------------------------------------------------

const tally = {};
const problems = [];
function count(kind, outcome) {
  tally[kind] ??= {};
  tally[kind][outcome] = (tally[kind][outcome] ?? 0) + 1;
}
function problem(kind, what) {
  count(kind, 'PROBLEM');
  if (problems.length < 50) problems.push(`${kind}: ${what}`);
}

// A valid request may be refused only by a limit (429 queue full, 503 while shutting down).
function judgeStatus(kind, status, body) {
  if (status === 429) { count(kind, '429'); return false; }
  if (status >= 500) { problem(kind, `status ${status}: ${String(body).slice(0, 200)}`); return false; }
  if (status !== 200) { problem(kind, `status ${status}: ${String(body).slice(0, 200)}`); return false; }
  return true;
}

function wellFormedCompletion(j) {
  return j && j.object === 'chat.completion' && typeof j.id === 'string' && Array.isArray(j.choices)
    && j.choices.length === 1 && j.choices[0].message?.role === 'assistant'
    && ['stop', 'length', 'tool_calls'].includes(j.choices[0].finish_reason)
    && Number.isInteger(j.usage?.prompt_tokens) && Number.isInteger(j.usage?.completion_tokens);
}

// Parses a whole SSE body: every event a chat.completion.chunk, then [DONE] last.
function wellFormedStream(text) {
  const events = text.split('\n\n').filter((e) => e.trim() !== '');
  if (events.length < 2 || events.at(-1).trim() !== 'data: [DONE]') return 'no [DONE] at the end';
  let finish = null;
  for (const e of events.slice(0, -1)) {
    if (!e.startsWith('data: ')) return `not a data event: ${e.slice(0, 80)}`;
    let j;
    try { j = JSON.parse(e.slice(6)); } catch { return `bad JSON: ${e.slice(0, 80)}`; }
    if (j.error) return `error event: ${JSON.stringify(j.error).slice(0, 200)}`;
    if (j.object !== 'chat.completion.chunk') return `wrong object ${j.object}`;
    finish = j.choices?.[0]?.finish_reason ?? finish;
  }
  return finish ? null : 'no finish_reason';
}

const post = (base, body, signal) => fetch(`${base}/v1/chat/completions`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal,
});

const PROMPTS = ['Name three colors.', 'Write a haiku about the sea.', 'What is 2+2?',
  'Tell me a short fact about cats.', 'List four fruits.', 'Say hello in French.'];
const chatBody = (extra = {}) => ({
  model: 'smol', max_tokens: 8 + rand(56), temperature: Math.random(),
  messages: [{ role: 'user', content: PROMPTS[rand(PROMPTS.length)] }], ...extra,
});
const WEATHER = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

// ---- behaviours ------------------------------------------------------------------------------

async function plainChat(base) {
  const r = await post(base, chatBody());
  const text = await r.text();
  if (!judgeStatus('chat', r.status, text)) return;
  let j;
  try { j = JSON.parse(text); } catch { return problem('chat', `bad JSON ${text.slice(0, 100)}`); }
  if (!wellFormedCompletion(j)) return problem('chat', `malformed ${text.slice(0, 200)}`);
  count('chat', 'ok');
}

async function streamedChat(base) {
  const r = await post(base, chatBody({ stream: true }));
  const text = await r.text();
  if (!judgeStatus('stream', r.status, text)) return;
  const bad = wellFormedStream(text);
  if (bad) return problem('stream', bad);
  count('stream', 'ok');
}

async function clientToolLoop(base) {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const r1 = await post(base, { model: 'smol', max_tokens: 64, messages, tools: [WEATHER], tool_choice: 'required' });
  const t1 = await r1.text();
  if (!judgeStatus('tool_loop', r1.status, t1)) return;
  const j1 = JSON.parse(t1);
  if (!wellFormedCompletion(j1)) return problem('tool_loop', `malformed ${t1.slice(0, 200)}`);
  const calls = j1.choices[0].message.tool_calls;
  // max_tokens ran out inside the forced call (SmolLM2 rambles in string arguments): a
  // well-formed answer that ends with finish_reason "length", not a server fault.
  if (j1.choices[0].finish_reason === 'length') return count('tool_loop', 'call cut by max_tokens');
  if (!Array.isArray(calls) || calls.length === 0) return problem('tool_loop', `no tool call under tool_choice required: ${t1.slice(0, 200)}`);
  for (const c of calls) {
    try { JSON.parse(c.function.arguments); } catch { return problem('tool_loop', `arguments not JSON: ${c.function.arguments}`); }
  }
  messages.push(j1.choices[0].message);
  for (const c of calls) messages.push({ role: 'tool', tool_call_id: c.id, content: '{"temperature_c": 18, "sky": "clear"}' });
  const r2 = await post(base, { model: 'smol', max_tokens: 32, messages, tools: [WEATHER] });
  const t2 = await r2.text();
  if (!judgeStatus('tool_loop', r2.status, t2)) return;
  if (!wellFormedCompletion(JSON.parse(t2))) return problem('tool_loop', `malformed round 2 ${t2.slice(0, 200)}`);
  count('tool_loop', 'ok');
}

async function serverToolLoop(base) {
  const r = await post(base, { model: 'smol-tools', max_tokens: 48,
    messages: [{ role: 'user', content: 'Use the calculator: what is 17*23?' }] });
  const text = await r.text();
  if (!judgeStatus('server_tools', r.status, text)) return;
  let j;
  try { j = JSON.parse(text); } catch { return problem('server_tools', `bad JSON ${text.slice(0, 100)}`); }
  if (!wellFormedCompletion(j)) return problem('server_tools', `malformed ${text.slice(0, 200)}`);
  count('server_tools', 'ok');
}

async function hangUp(base) {
  const ac = new AbortController();
  const after = rand(1500);
  const timer = setTimeout(() => ac.abort(), after);
  try {
    const r = await post(base, chatBody({ stream: Math.random() < 0.7, max_tokens: 200 }), ac.signal);
    await r.text();
    count('hang_up', 'finished first');
  } catch {
    count('hang_up', 'cut');
  } finally {
    clearTimeout(timer);
  }
}

// Raw socket: sends a request and returns the socket; the caller reads as it likes.
function rawConnect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

// Reads a streamed answer 64 bytes every 100 ms (a client on a very slow link), up to 20 s.
async function slowReader(port) {
  const s = await rawConnect(port);
  s.on('error', () => {});
  const body = JSON.stringify(chatBody({ stream: true, max_tokens: 64 }));
  s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  s.pause();
  let got = '';
  const deadline = Date.now() + 20_000;
  let ended = false;
  s.on('end', () => { ended = true; });
  while (Date.now() < deadline && !ended && !got.includes('data: [DONE]')) {
    await sleep(100);
    const chunk = s.read(64) ?? s.read();  // paused: nothing more is taken from the kernel
    if (chunk) got += chunk.toString();
  }
  s.destroy();
  if (got.startsWith('HTTP/1.1 429')) return count('slow_reader', '429');
  // Queued behind the others on a loaded machine: nothing arrived yet, nothing to judge.
  if (got === '') return count('slow_reader', 'no bytes in 20 s');
  if (!got.startsWith('HTTP/1.1 200')) return problem('slow_reader', `answer ${got.slice(0, 100)}`);
  count('slow_reader', got.includes('data: [DONE]') ? 'ok' : 'read 20 s');
}

// Sends a head one byte every 300 ms and never finishes it: the server must cut it (header
// timeout 3 s) long before the head would be complete.
async function slowloris(port) {
  const s = await rawConnect(port);
  let closed = false;
  s.on('close', () => { closed = true; });
  s.on('error', () => {});
  s.on('data', () => {});
  const head = `GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(60)}`;
  const started = Date.now();
  for (const ch of head) {
    if (closed) break;
    s.write(ch);
    await sleep(300);
  }
  s.destroy();
  const secs = (Date.now() - started) / 1000;
  if (!closed) return problem('slowloris', 'the server kept the trickling connection open');
  count('slowloris', secs < 6 ? 'cut' : 'cut late');
}

async function oversized(base) {
  const big = 'x'.repeat(MAX_BODY + 1024);
  const r = await post(base, { model: 'smol', messages: [{ role: 'user', content: big }] }).catch((e) => e);
  if (r instanceof Error) return count('oversized', 'reset');  // acceptable: the server closed after 413
  await r.text();
  if (r.status !== 413) return problem('oversized', `status ${r.status}`);
  count('oversized', '413');
}

async function invalidJson(base) {
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: ['{"model":"smol","messages":[', '{"model":', 'not json', '{"model":"smol","messages":"x"}'][rand(4)],
  });
  const j = await r.json().catch(() => null);
  if (r.status !== 400 || !j?.error?.message) return problem('invalid_json', `status ${r.status}`);
  count('invalid_json', '400');
}

// More requests at once than running + queue slots: some must get 429, none a 5xx.
async function burst(base) {
  const n = LIMITS.max_concurrent_requests + LIMITS.max_queue + 16;
  await Promise.all(Array.from({ length: n }, async () => {
    const r = await post(base, chatBody({ max_tokens: 32 }));
    const text = await r.text();
    if (r.status === 429) return count('burst', '429');
    if (!judgeStatus('burst', r.status, text)) return;
    if (!wellFormedCompletion(JSON.parse(text))) return problem('burst', 'malformed');
    count('burst', 'ok');
  }));
}

const BEHAVIOURS = [
  [30, (s) => plainChat(s.base)], [30, (s) => streamedChat(s.base)],
  [8, (s) => clientToolLoop(s.base)], [6, (s) => serverToolLoop(s.base)],
  [10, (s) => hangUp(s.base)], [4, (s) => slowReader(s.port)], [3, (s) => slowloris(s.port)],
  [4, (s) => oversized(s.base)], [5, (s) => invalidJson(s.base)],
];
const totalWeight = BEHAVIOURS.reduce((a, [w]) => a + w, 0);
function pick() {
  let x = rand(totalWeight);
  for (const [w, f] of BEHAVIOURS) { if (x < w) return f; x -= w; }
  return BEHAVIOURS[0][1];
}

// ---- phases ----------------------------------------------------------------------------------

async function health(server, label, idleFds) {
  const m = await settle(server.base);
  const fds = fdCount(server.child.pid);
  return { label, kv_blocks_used: m.kvBlocksUsed, requests_running: m.running + m.engineRunning,
    requests_waiting: m.waiting + m.engineWaiting, fds, idle_fds: idleFds, fds_back_to_idle: fds <= idleFds,
    rss_mib: Number(rssMiB(server.child.pid).toFixed(1)), load1: Number(load1().toFixed(2)) };
}

async function soak(server) {
  const end = Date.now() + opts.durationS * 1000;
  const rssAt = {};
  const sampleAt = [0.2, 1.0].map((f) => Date.now() + f * opts.durationS * 1000);
  const series = [];  // RSS every tenth of the run: a leak climbs, a warm-up flattens
  const tenth = opts.durationS * 100;
  let nextSample = Date.now() + tenth;
  const sampler = setInterval(() => {
    const now = Date.now();
    if (!rssAt.minute2 && now >= sampleAt[0]) {
      rssAt.minute2 = rssMiB(server.child.pid);
      rssAt.anonMinute2 = rssMiB(server.child.pid, 'RssAnon');
    }
    if (now >= nextSample) {
      series.push(Number(rssMiB(server.child.pid).toFixed(1)));
      nextSample += tenth;
    }
  }, 500);
  let errors = 0;
  const client = async () => {
    while (Date.now() < end) {
      try { await pick()(server); } catch (e) {
        errors += 1;
        problem('client', `threw ${e.message}`);
      }
    }
  };
  const bursts = (async () => {
    while (Date.now() + 20_000 < end) {
      await sleep(20_000);
      await burst(server.base).catch((e) => problem('burst', e.message));
    }
  })();
  const started = Date.now();
  await Promise.all([...Array.from({ length: opts.clients }, client), bursts]);
  clearInterval(sampler);
  rssAt.end = rssMiB(server.child.pid);
  rssAt.anonEnd = rssMiB(server.child.pid, 'RssAnon');
  return { kv_preallocate: opts.kvPreallocate, seconds: Math.round((Date.now() - started) / 1000), clients: opts.clients, errors,
    rss_mib_at_20pct: Number((rssAt.minute2 ?? NaN).toFixed(1)), rss_mib_at_end: Number(rssAt.end.toFixed(1)),
    rss_growth_pct: Number(((rssAt.end / rssAt.minute2 - 1) * 100).toFixed(2)),
    rss_anon_mib_at_20pct: Number((rssAt.anonMinute2 ?? NaN).toFixed(1)),
    rss_anon_mib_at_end: Number(rssAt.anonEnd.toFixed(1)),
    rss_mib_every_tenth: series };
}

// Each request is cut at a random point: before the answer's head, right after it, or after a
// few chunks; a few are let through to the end (and then checked).
async function cancelStorm(server) {
  let next = 0;
  const started = Date.now();
  const stopAt = started + opts.stormMaxS * 1000;
  const worker = async () => {
    while (next < opts.storm && Date.now() < stopAt) {
      next += 1;
      const ac = new AbortController();
      const mode = [0, 0, 1, 1, 2, 2, 2, 3][rand(8)];  // 3: read to the end
      const cutAfterMs = rand(400);
      const timer = mode === 0 ? setTimeout(() => ac.abort(), cutAfterMs) : null;
      try {
        const r = await post(server.base, chatBody({ stream: true, max_tokens: 24 }), ac.signal);
        if (r.status === 429) { count('storm', '429'); await r.text(); continue; }
        if (r.status >= 500) { problem('storm', `status ${r.status}`); await r.text(); continue; }
        if (mode === 1) { ac.abort(); count('storm', 'cut after head'); continue; }
        const reader = r.body.getReader();
        const chunksBeforeCut = mode === 2 ? 1 + rand(8) : Infinity;
        let text = '';
        let chunks = 0;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += Buffer.from(value).toString();
          if (++chunks >= chunksBeforeCut) { ac.abort(); break; }
        }
        if (chunks >= chunksBeforeCut) { count('storm', 'cut mid-stream'); continue; }
        const bad = wellFormedStream(text);
        if (bad) problem('storm', bad); else count('storm', 'finished');
      } catch {
        count('storm', 'cut');
      } finally {
        if (timer) clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.stormConcurrency }, worker));
  return { requests: next, concurrency: opts.stormConcurrency,
    seconds: Math.round((Date.now() - started) / 1000) };
}

async function main() {
  const server = await startServer();
  const out = { when: new Date().toISOString(), cpus: os.cpus().length, load1_start: Number(load1().toFixed(2)), opts };
  try {
    await plainChat(server.base);  // warm up: the first request maps weights, opens the store
    await streamedChat(server.base);
    const idle = await health(server, 'idle', Infinity);
    const idleFds = idle.fds;
    out.idle = idle;
    if (opts.soak) {
      out.soak = await soak(server);
      out.after_soak = await health(server, 'after soak', idleFds);
    }
    if (opts.cancelStorm) {
      out.storm = await cancelStorm(server);
      out.after_storm = await health(server, 'after cancel storm', idleFds);
    }
    out.tally = tally;
    out.problems = problems;
    const checks = [];
    for (const h of [out.after_soak, out.after_storm].filter(Boolean)) {
      if (h.kv_blocks_used !== 0) checks.push(`${h.label}: ${h.kv_blocks_used} KV blocks in use`);
      if (!h.fds_back_to_idle) checks.push(`${h.label}: ${h.fds} fds open, ${h.idle_fds} when idle`);
      if (h.requests_running + h.requests_waiting !== 0) checks.push(`${h.label}: requests still running`);
    }
    if (out.soak && !(out.soak.rss_growth_pct < 5)) checks.push(`RSS grew ${out.soak.rss_growth_pct}%`);
    if (problems.length) checks.push(`${Object.values(tally).reduce((a, t) => a + (t.PROBLEM ?? 0), 0)} problem answers`);
    if (server.child.exitCode !== null) checks.push(`the server died (${server.child.exitCode})`);
    out.failed_checks = checks;
    out.ok = checks.length === 0;
  } finally {
    server.child.kill('SIGTERM');
    const code = await new Promise((r) => {
      if (server.child.exitCode !== null) return r(server.child.exitCode);
      const t = setTimeout(() => server.child.kill('SIGKILL'), 20_000);
      server.child.once('exit', (c) => { clearTimeout(t); r(c); });
    });
    out.exit_code = code;
    out.load1_end = Number(load1().toFixed(2));
  }
  if (out.exit_code !== 0) { out.ok = false; out.failed_checks.push(`exit code ${out.exit_code}`); }
  if (!out.ok) out.server_log_tail = server.log().slice(-3000);
  console.log(JSON.stringify(out, null, 2));
  process.exit(out.ok ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(2); });
