#!/usr/bin/env node
// Typing latency of code completion (fill-in-the-middle) as an editor plugin sees it: a source
// file of about 1,500 tokens, the cursor two thirds of the way in, and a user typing a new line
// there. Every few characters the editor sends a FIM request whose prefix has grown by those
// characters and whose suffix (the rest of the file) is unchanged; each asks for 32 tokens,
// greedy, with ignore_eos so every server generates the same amount.
//
// Works against Toolgate and llama.cpp's llama-server alike, by URL and endpoint shape:
//   --shape infill       POST {url}/infill (llama.cpp's shape; Toolgate serves it too)
//   --shape completions  POST {url}/v1/completions with prompt + suffix (OpenAI legacy)
// Streams every request: time to first token is the first content event, time to last token
// the last; "prefill computed" is what the server says it actually evaluated (llama.cpp
// timings.prompt_n; Toolgate prompt_tokens - cached_tokens).
//
//   node bench/fim_typing_bench.mjs --url http://127.0.0.1:8080 [--shape infill] \
//        [--model qwen2.5-coder-0.5b] [--requests 20] [--tokens 32] [--chars-per-step 3] \
//        [--file gateway/chat_completion_job.cpp] [--file-chars 6000] [--label NAME]
// Prints one JSON object: p50/p95 of TTFT and total latency (ms), per-request figures.
import { readFileSync } from 'node:fs';
import os from 'node:os';

function parseArgs(argv) {
  const o = { url: 'http://127.0.0.1:8080', shape: 'infill', model: undefined, requests: 20,
    tokens: 32, charsPerStep: 3, file: new URL('../gateway/chat_completion_job.cpp', import.meta.url).pathname,
    fileChars: 6000, label: undefined, apiKey: process.env.TOOLGATE_API_KEY ?? 'unused' };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--url') o.url = next();
    else if (a === '--shape') o.shape = next();
    else if (a === '--model') o.model = next();
    else if (a === '--requests') o.requests = Number(next());
    else if (a === '--tokens') o.tokens = Number(next());
    else if (a === '--chars-per-step') o.charsPerStep = Number(next());
    else if (a === '--file') o.file = next();
    else if (a === '--file-chars') o.fileChars = Number(next());
    else if (a === '--label') o.label = next();
    else if (a === '--api-key') o.apiKey = next();
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

// Reads an SSE response, calling onEvent(json) per data event; returns when the body ends.
async function readSse(res, onEvent) {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let idx;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') continue;
        onEvent(JSON.parse(data));
      }
    }
  }
}

async function fim(o, prefix, suffix) {
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${o.apiKey}` };
  const body = o.shape === 'infill'
    ? { input_prefix: prefix, input_suffix: suffix, n_predict: o.tokens, temperature: 0, top_k: 1,
      ignore_eos: true, stream: true, cache_prompt: true, ...(o.model ? { model: o.model } : {}) }
    : { model: o.model, prompt: prefix, suffix, max_tokens: o.tokens, temperature: 0,
      ignore_eos: true, stream: true, stream_options: { include_usage: true } };
  const path = o.shape === 'infill' ? '/infill' : '/v1/completions';
  const t0 = performance.now();
  const res = await fetch(`${o.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path} ${res.status}: ${await res.text()}`);
  let first = null;
  let last = null;
  let text = '';
  let prefill = null;
  let promptTokens = null;
  let generated = 0;
  await readSse(res, (j) => {
    const piece = o.shape === 'infill' ? (j.content ?? '') : (j.choices?.[0]?.text ?? '');
    if (piece.length > 0) {
      const now = performance.now();
      if (first === null) first = now;
      last = now;
      text += piece;
    }
    if (o.shape === 'infill' && j.stop) {
      prefill = j.timings?.prompt_n ?? null;
      promptTokens = j.tokens_evaluated ?? null;
      generated = j.tokens_predicted ?? j.timings?.predicted_n ?? 0;
    }
    if (o.shape === 'completions' && j.usage) {
      promptTokens = j.usage.prompt_tokens;
      prefill = j.usage.prompt_tokens - (j.usage.prompt_tokens_details?.cached_tokens ?? 0);
      generated = j.usage.completion_tokens;
    }
  });
  const end = performance.now();
  return { ttft_ms: (first ?? end) - t0, total_ms: (last ?? end) - t0, prompt_tokens: promptTokens,
    prefill_computed: prefill, generated, text };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x) => Math.round(x * 10) / 10;

const o = parseArgs(process.argv.slice(2));
// The file: whole lines up to --file-chars, so the tokens are real code, not a synthetic blob.
const source = readFileSync(o.file, 'utf8');
let file = '';
for (const line of source.split('\n')) {
  if (file.length + line.length + 1 > o.fileChars) break;
  file += `${line}\n`;
}
// The cursor: the start of a line two thirds of the way in; the user types a new line there.
const cut = file.indexOf('\n', Math.floor(file.length * 2 / 3)) + 1;
const before = file.slice(0, cut);
const after = file.slice(cut);
const typed = '    const int remaining_budget = plan_.max_tokens - c.completion_tokens - extra_tokens;\n';

// One request at the cursor before typing: the editor opened the file (not counted).
const warm = await fim(o, before, after);
const runs = [];
for (let k = 1; k <= o.requests; ++k) {
  const r = await fim(o, before + typed.slice(0, k * o.charsPerStep), after);
  delete r.text;
  runs.push(r);
}
const ttft = runs.map((r) => r.ttft_ms);
const total = runs.map((r) => r.total_ms);
const prefill = runs.map((r) => r.prefill_computed).filter((x) => x !== null);
console.log(JSON.stringify({
  label: o.label ?? o.url, shape: o.shape, requests: o.requests, tokens: o.tokens,
  file_chars: file.length, prompt_tokens_first: warm.prompt_tokens,
  warm_up: { ttft_ms: round(warm.ttft_ms), total_ms: round(warm.total_ms), prefill_computed: warm.prefill_computed },
  ttft_ms: { p50: round(pct(ttft, 50)), p95: round(pct(ttft, 95)) },
  total_ms: { p50: round(pct(total, 50)), p95: round(pct(total, 95)) },
  prefill_computed: { mean: round(prefill.reduce((a, b) => a + b, 0) / Math.max(prefill.length, 1)),
    min: Math.min(...prefill), max: Math.max(...prefill) },
  generated: runs.map((r) => r.generated),
  per_request: runs.map((r) => ({ ttft_ms: round(r.ttft_ms), total_ms: round(r.total_ms),
    prompt_tokens: r.prompt_tokens, prefill_computed: r.prefill_computed })),
  load1: os.loadavg()[0],
}, null, 1));
