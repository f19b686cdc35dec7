#!/usr/bin/env node
// Fill-in-the-middle quality of a served code model: 12 small files (Python, JavaScript, C++),
// each with one hole (a function body, an argument list, the closing of a block). For each,
// the model fills the hole greedily through POST /v1/completions with `suffix` (or /infill);
// the filled file must pass the language's own syntax check (python3 -m py_compile,
// node --check, g++ -fsyntax-only) and the completion must contain the expected identifier.
//
// Two scores: `raw` uses the completion as returned; `trimmed` first cuts it where it starts
// repeating the suffix's first line, as editor plugins (Continue, llama.vscode) do, since small
// models often go on past the hole.
//
// Runs against an already started server and prints one JSON object.
//   node bench/fim_quality.mjs --base-url http://127.0.0.1:8080 --model qwen2.5-coder-0.5b \
//        [--endpoint completions|infill] [--max-tokens 64] [--api-key KEY] [--verbose]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function parseArgs(argv) {
  const o = { baseURL: 'http://127.0.0.1:8080', model: 'qwen2.5-coder-0.5b', endpoint: 'completions',
    maxTokens: 64, apiKey: process.env.TOOLGATE_API_KEY ?? 'unused', verbose: false };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--base-url') o.baseURL = next();
    else if (a === '--model') o.model = next();
    else if (a === '--endpoint') o.endpoint = next();
    else if (a === '--max-tokens') o.maxTokens = Number(next());
    else if (a === '--api-key') o.apiKey = next();
    else if (a === '--verbose') o.verbose = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

// <FILL> marks the hole; `expect` must appear in the completion.
const CASES = [
  { name: 'py_body_mean', lang: 'py', expect: 'len',
    src: 'def mean(values):\n<FILL>\n\n\nprint(mean([1, 2, 3]))\n' },
  { name: 'py_args_hypot', lang: 'py', expect: 'b',
    src: 'import math\n\n\ndef hypot(a, b):\n    return math.sqrt(<FILL>)\n\n\nprint(hypot(3, 4))\n' },
  { name: 'py_close_dict', lang: 'py', expect: '}',
    src: 'CONFIG = {\n    "host": "localhost",\n    "port": 8080,\n<FILL>\n\n\ndef get(key):\n    return CONFIG[key]\n' },
  { name: 'py_loop_vowels', lang: 'py', expect: 'aeiou',
    src: 'def count_vowels(s):\n    n = 0\n    for ch in s.lower():\n<FILL>\n    return n\n\n\nprint(count_vowels("Hello"))\n' },
  { name: 'js_body_capitalize', lang: 'js', expect: 'toUpperCase',
    src: 'function capitalize(word) {\n<FILL>\n}\n\nconsole.log(capitalize("hello"));\n' },
  { name: 'js_args_sort', lang: 'js', expect: 'a',
    src: 'const nums = [3, 1, 2];\nconst sorted = nums.slice().sort(<FILL>);\nconsole.log(sorted);\n' },
  { name: 'js_close_object', lang: 'js', expect: '}',
    src: 'const server = {\n  start() {\n    console.log("start");\n  },\n  stop() {\n    console.log("stop");\n<FILL>\n\nmodule.exports = server;\n' },
  { name: 'js_body_fetch_json', lang: 'js', expect: 'json',
    src: 'async function fetchJson(url) {\n  const res = await fetch(url);\n<FILL>\n}\n\nfetchJson("https://example.com").then(console.log);\n' },
  { name: 'cpp_body_sum', lang: 'cpp', expect: 'v',
    src: '#include <vector>\n\nint sum(const std::vector<int>& v) {\n<FILL>\n}\n\nint main() { return sum({1, 2, 3}); }\n' },
  { name: 'cpp_args_sort', lang: 'cpp', expect: 'begin',
    src: '#include <algorithm>\n#include <vector>\n\nint main() {\n  std::vector<int> v{3, 1, 2};\n  std::sort(<FILL>);\n  return v[0];\n}\n' },
  { name: 'cpp_close_struct', lang: 'cpp', expect: '}',
    src: 'struct Point {\n  int x;\n  int y;\n<FILL>\n\nint main() {\n  Point p{1, 2};\n  return p.x;\n}\n' },
  { name: 'cpp_body_starts_with', lang: 'cpp', expect: 'prefix',
    src: '#include <string>\n\nbool starts_with(const std::string& s, const std::string& prefix) {\n<FILL>\n}\n\nint main() { return starts_with("abc", "a") ? 0 : 1; }\n' },
];

const dir = mkdtempSync(path.join(os.tmpdir(), 'fim-quality-'));

function compiles(lang, name, text) {
  const file = path.join(dir, `${name}.${lang}`);
  writeFileSync(file, text);
  const cmd = { py: ['python3', ['-m', 'py_compile', file]], js: ['node', ['--check', file]],
    cpp: ['g++', ['-std=c++17', '-fsyntax-only', file]] }[lang];
  try {
    execFileSync(cmd[0], cmd[1], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

// Cut the completion where it starts repeating the suffix: at the first position from which it
// reads (whitespace ignored) like the suffix's first two non-blank lines, or at a line equal to
// the suffix's first non-blank line, indentation included. Editor plugins remove this overlap the same way.
function trim(completion, suffix) {
  const squash = (s) => s.replace(/\s+/g, '');
  const lines = suffix.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim().length > 0);
  if (lines.length === 0) return completion;
  const head = squash(lines.slice(0, 2).join(''));
  for (let i = 0; i < completion.length; ++i) {
    const rest = completion.slice(i);
    const atLineStart = i === 0 || completion[i - 1] === '\n' || /^\s*$/.test(completion.slice(completion.lastIndexOf('\n', i - 1) + 1, i));
    if (squash(rest).startsWith(head) && !/\s/.test(completion[i])) return completion.slice(0, i).replace(/\s+$/, '');
    // The same line at the same indentation (a "}" closing an inner block is not the suffix's).
    const lineStart = completion.lastIndexOf('\n', i - 1) + 1;
    if (atLineStart && !/\s/.test(completion[i]) && i > 0 &&
        completion.slice(lineStart).split('\n')[0].trimEnd() === lines[0])
      return completion.slice(0, lineStart).replace(/\s+$/, '');
  }
  return completion;
}

async function fill(o, prefix, suffix) {
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${o.apiKey}` };
  if (o.endpoint === 'infill') {
    const r = await fetch(`${o.baseURL}/infill`, { method: 'POST', headers, body: JSON.stringify({
      model: o.model, input_prefix: prefix, input_suffix: suffix, n_predict: o.maxTokens,
      temperature: 0, top_k: 1, samplers: ['top_k'], cache_prompt: true }) });
    if (!r.ok) throw new Error(`/infill ${r.status}: ${await r.text()}`);
    return (await r.json()).content;
  }
  const r = await fetch(`${o.baseURL}/v1/completions`, { method: 'POST', headers, body: JSON.stringify({
    model: o.model, prompt: prefix, suffix, max_tokens: o.maxTokens, temperature: 0 }) });
  if (!r.ok) throw new Error(`/v1/completions ${r.status}: ${await r.text()}`);
  return (await r.json()).choices[0].text;
}

const o = parseArgs(process.argv.slice(2));
const results = [];
for (const c of CASES) {
  const [prefix, suffix] = c.src.split('<FILL>');
  const completion = await fill(o, prefix, suffix);
  const judge = (text) => compiles(c.lang, c.name, prefix + text + suffix) && text.includes(c.expect);
  const trimmed = trim(completion, suffix);
  const r = { name: c.name, raw: judge(completion), trimmed: judge(trimmed) };
  if (o.verbose) Object.assign(r, { completion, trimmed_text: trimmed });
  results.push(r);
}
console.log(JSON.stringify({
  model: o.model, endpoint: o.endpoint, cases: CASES.length,
  pass_raw: results.filter((r) => r.raw).length,
  pass_trimmed: results.filter((r) => r.trimmed).length,
  results,
}, null, 1));
