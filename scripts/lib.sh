# Shared helpers for the setup scripts. Sourced, not executed.
set -euo pipefail
TOOLGATE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${TOOLGATE_CACHE_DIR:-$TOOLGATE_ROOT/.cache}"
log() { printf '\033[1m[toolgate]\033[0m %s\n' "$*" >&2; }
die() { printf '[toolgate] error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
