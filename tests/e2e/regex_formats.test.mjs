// The regex DFA that constrains JSON-schema `pattern` and `format` (engine/constrained/regex.h),
// judged by the engines a client validates with: ajv 8 + ajv-formats 3 ("full" mode) and
// JavaScript's own RegExp with the "u" flag (what ajv compiles `pattern` to).
//   formats:  strings from random walks through each format's DFA must all pass ajv, and so must
//             every near miss (a sample with one character changed) the DFA still accepts;
//             known-bad strings ajv refuses must be refused by the DFA too.
//   patterns: walks must fully match the pattern in JS and pass ajv's `pattern`; random strings
//             and near misses of the walks (non-ASCII, line terminators and Unicode spaces
//             included) must be accepted by the DFA exactly when JS fully matches them.
// The DFA is driven through engine/programs/toolgate-regex (TOOLGATE_REGEX_BIN, or found next to
// TOOLGATE_BIN in the build tree). No server or model is needed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

function regexBin() {
  if (process.env.TOOLGATE_REGEX_BIN) return process.env.TOOLGATE_REGEX_BIN;
  const server = process.env.TOOLGATE_BIN;
  return server ? path.join(path.dirname(server), '..', 'engine', 'toolgate-regex') : '';
}
const BIN = regexBin();
const skip =
  BIN && existsSync(BIN) ? false : 'toolgate-regex is not built (TOOLGATE_REGEX_BIN / TOOLGATE_BIN)';

const source = (args) => (args.format ? ['--format', args.format] : ['--pattern', args.pattern]);

function sample(args, count, seed) {
  const argv = ['sample', ...source(args), '--count', String(count), '--seed', String(seed)];
  const out = execFileSync(BIN, argv, { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function matches(args, strings) {
  const input = strings.map((s) => JSON.stringify(s)).join('\n') + '\n';
  const out = execFileSync(BIN, ['match', ...source(args)], { input, encoding: 'utf8' });
  const flags = out.split('\n').filter(Boolean).map((l) => l === '1');
  assert.equal(flags.length, strings.length);
  return flags;
}

const ajv = new Ajv({ strict: false });
addFormats(ajv);

// Deterministic pseudo-random numbers, so a failure names a reproducible case.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

// One character replaced, deleted, inserted or doubled (code points, not UTF-16 units).
function nearMisses(samples, alphabet, seed) {
  const rand = rng(seed);
  const out = [];
  for (const s of samples) {
    const cps = [...s];
    for (let k = 0; k < 4; ++k) {
      const c = cps.slice();
      const at = Math.floor(rand() * (c.length + 1));
      const ch = alphabet[Math.floor(rand() * alphabet.length)];
      const op = Math.floor(rand() * 4);
      if (op === 0 && at < c.length) c[at] = ch;
      else if (op === 1 && at < c.length) c.splice(at, 1);
      else if (op === 2) c.splice(at, 0, ch);
      else if (at < c.length) c.splice(at, 0, c[at]);
      out.push(c.join(''));
    }
  }
  return out;
}

const formats = {
  date: {
    good: ['2024-02-28', '2000-12-31'],
    bad: ['2024-02-30', '2023-02-29', '2023-04-31', '2023-13-01', '2023-00-01', '2023-01-00', '2023-1-01'],
  },
  time: {
    good: ['23:59:59Z', '00:00:00.000001+14:00'],
    bad: ['24:00:00Z', '12:60:00Z', '12:00:61Z', '12:00:00', '12:00:00+24:00', '12:00:00+02:60'],
  },
  'date-time': {
    good: ['2024-01-15T10:20:30Z', '1970-01-01T00:00:00.5-08:00'],
    bad: ['2024-01-15T10:20:30', '2024-02-30T00:00:00Z', '2024-01-15T25:00:00Z', '2024-01-15X10:20:30Z'],
  },
  uuid: {
    good: ['123e4567-e89b-12d3-a456-426614174000'],
    bad: [
      '123e4567-e89b-12d3-a456-42661417400',
      '123e4567e89b12d3a456426614174000',
      'x23e4567-e89b-12d3-a456-426614174000',
    ],
  },
  email: {
    good: ['bob@example.com', 'a.b+c@sub.example.org'],
    bad: ['bob@', 'bob@@example.com', '.bob@example.com', 'bob.@example.com', 'bob@-x.com', 'bob@x-.com',
      'bob@.com', 'bob smith@x.com'],
  },
  ipv4: {
    good: ['0.0.0.0', '255.255.255.255'],
    bad: ['256.0.0.1', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.a'],
  },
  ipv6: {
    good: ['2001:db8:0:0:0:0:2:1'],
    bad: ['2001:db8:0:0:0:0:2', '12345:0:0:0:0:0:0:1', 'g001:db8:0:0:0:0:2:1', '1:2:3:4:5:6:7:8:9'],
  },
  hostname: {
    good: ['example.com', 'a-b.c-d.example'],
    bad: ['-example.com', 'example-.com', 'ex..ample', '.example.com', 'ex_ample.com', 'a'.repeat(64)],
  },
};

// Characters the near misses draw from: the formats' own, and some that break them.
const FORMAT_ALPHABET = [...'0123456789abcdefxyzABCZT:-.+@_%/ tZz!#\u00e9'];

describe('JSON-schema formats: every string the DFA admits is valid for ajv-formats', { skip }, () => {
  for (const [format, { good, bad }] of Object.entries(formats)) {
    test(format, () => {
      const validate = ajv.compile({ type: 'string', format });
      const samples = sample({ format }, 200, 11);
      assert.equal(samples.length, 200);
      for (const s of samples) {
        assert.ok(validate(s), `${format}: ajv refuses generated ${JSON.stringify(s)}`);
      }
      assert.ok(new Set(samples).size > 100, `${format}: samples are not diverse`);

      const misses = nearMisses(samples, FORMAT_ALPHABET, 5);
      const admitted = matches({ format }, misses);
      let refused = 0;
      misses.forEach((s, i) => {
        if (!admitted[i]) ++refused;
        else assert.ok(validate(s), `${format}: DFA admits ${JSON.stringify(s)}, ajv does not`);
      });
      assert.ok(refused > misses.length / 10, `${format}: too few near misses refused (${refused})`);

      for (const s of good) assert.ok(validate(s), `${format}: test data ${s} should be valid`);
      for (const s of bad) assert.ok(!validate(s), `${format}: test data ${s} should be invalid`);
      assert.deepEqual(matches({ format }, good), good.map(() => true), `${format}: good strings`);
      assert.deepEqual(matches({ format }, bad), bad.map(() => false), `${format}: bad strings`);
    });
  }
});

// Patterns with the constructs whose Unicode meaning differs between engines, and a few typical
// schema patterns. alphabet: what the random strings for the exact comparison are made of.
const patterns = [
  { pattern: '^[A-Z]{3}-\\d{4}$', alphabet: 'AZQ-0189a ' },
  { pattern: '.+', alphabet: 'a\n\r\u2028\u2029\u0085\u00e9😀' },
  { pattern: '\\s*\\S\\s*', alphabet: ' \t\n\u00a0\u1680\u2000\u200a\u200b\u2028\u202f\u205f\u3000\ufeffx' },
  { pattern: '\\w+\\W', alphabet: 'aZ_9-é😀 ' },
  { pattern: '[^a-z\\d]{2,3}', alphabet: 'ab09AZ-é😀\n' },
  { pattern: '[\u00e0-\u00ff]+|\\u{1F600}\\uD83D\\uDE01', alphabet: 'àÿé\u00df😀😁a' },
  { pattern: '(?<word>[a-z]+)(?:, (?<more>[a-z]+))*', alphabet: 'ab, ' },
  { pattern: 'a.*?b|c+?', alphabet: 'abc\n' },
  { pattern: '[\\s\\S]{2}', alphabet: 'a\n\u2028😀' },
  { pattern: '\\+?[0-9]{1,3}[ -]?\\(?[0-9]{3}\\)?[ -]?[0-9]{3}-[0-9]{4}', alphabet: '0123+ -()' },
  { pattern: '[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}', alphabet: 'ab1.-_@%+' },
  { pattern: '^v\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?$', alphabet: 'v01.-aZ' },
];

function randomStrings(alphabet, count, seed) {
  const chars = [...alphabet];
  const rand = rng(seed);
  const out = [];
  for (let i = 0; i < count; ++i) {
    const len = Math.floor(rand() * 9);
    let s = '';
    for (let k = 0; k < len; ++k) s += chars[Math.floor(rand() * chars.length)];
    out.push(s);
  }
  return out;
}

describe('patterns: the DFA and JavaScript RegExp (u flag) agree', { skip }, () => {
  for (const { pattern, alphabet } of patterns) {
    test(pattern, () => {
      const full = new RegExp(`^(?:${pattern})$`, 'u');
      const validate = ajv.compile({ type: 'string', pattern });
      const samples = sample({ pattern }, 100, 3);
      for (const s of samples) {
        assert.ok(full.test(s), `JS does not fully match generated ${JSON.stringify(s)}`);
        assert.ok(validate(s), `ajv refuses generated ${JSON.stringify(s)}`);
      }
      // Exact agreement on random strings and on the samples' near misses (where the
      // boundaries of the language are).
      const strings = [...randomStrings(alphabet, 1000, 17), ...nearMisses(samples, [...alphabet], 23)];
      const admitted = matches({ pattern }, strings);
      let hits = 0;
      strings.forEach((s, i) => {
        const want = full.test(s);
        hits += want;
        assert.equal(admitted[i], want, `${JSON.stringify(s)}: DFA ${admitted[i]}, JS ${want}`);
      });
      assert.ok(hits > 0, 'no random string is in the language: the comparison says nothing');
    });
  }
});
