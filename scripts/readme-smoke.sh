#!/usr/bin/env bash
# Runs the README's "Call it" section against a fresh `pnpm start`: the curl blocks and the Node SDK
# snippets marked `<!-- readme-smoke: ... -->` are taken from README.md itself, so a README edit that
# breaks them fails here. Needs NATS (see README) and the workspace installed; builds via `pnpm start`.
# Usage: scripts/readme-smoke.sh            (SKIP_BUILD=1 runs the already-built launcher directly)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

data_dir="$(mktemp -d)"
work_dir="$root/test/.readme-smoke-$$" # under test/ so `openai`, `@anthropic-ai/sdk` and `ai` resolve
out="$data_dir/gatehouse.out"
pid=""

cleanup() {
  # The gateway runs in its own process group (set -m): signal the group, so `pnpm start`'s node
  # child goes too.
  if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir" "$work_dir"
}
trap cleanup EXIT

# Its own subject prefix, so it never shares queue groups with another gateway on the same NATS.
export GATEHOUSE_PREFIX="readme$$"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"

# Start the gateway the way the README says, in the background, in its own process group.
if [ "${SKIP_BUILD:-0}" = "1" ]; then
  set -m
  GATEHOUSE_DATA_DIR="$data_dir" PORT="$port" LOG_LEVEL=warn packages/launcher/bin/gatehouse >"$out" 2>&1 &
  pid=$!
  set +m
else
  set -m
  GATEHOUSE_DATA_DIR="$data_dir" PORT="$port" LOG_LEVEL=warn pnpm start >"$out" 2>&1 &
  pid=$!
  set +m
fi

# Bounded wait for "listening" (a build may come first).
for _ in $(seq 1 600); do
  grep -q "Gatehouse is listening on" "$out" && break
  kill -0 "$pid" 2>/dev/null || { cat "$out"; echo "readme-smoke: gatehouse exited" >&2; exit 1; }
  sleep 0.5
done
grep -q "Gatehouse is listening on" "$out" || { cat "$out"; echo "readme-smoke: not listening after 300 s" >&2; exit 1; }

GATEHOUSE_ADMIN_KEY="$(grep -o 'gatehouse_pat_[0-9A-Za-z]*_[0-9A-Za-z]*' "$out" | head -n 1)"
[ -n "$GATEHOUSE_ADMIN_KEY" ] || { cat "$out"; echo "readme-smoke: no bootstrap key printed" >&2; exit 1; }
export GATEHOUSE_ADMIN_KEY
export GATEHOUSE_URL="http://127.0.0.1:$port"

# Extract the marked blocks from README.md.
mkdir -p "$work_dir"
node - "$root/README.md" "$work_dir" <<'EOF'
const fs = require("node:fs");
const [readme, dir] = process.argv.slice(2);
const text = fs.readFileSync(readme, "utf8");
const re = /<!-- readme-smoke: (\S+) -->\n```\w*\n([\s\S]*?)```/g;
let sh = "";
let count = 0;
for (const [, name, body] of text.matchAll(re)) {
  count++;
  if (name === "sh") sh += `${body}\necho\n`;
  else fs.writeFileSync(`${dir}/${name}`, body);
}
fs.writeFileSync(`${dir}/steps.sh`, sh);
if (count === 0) throw new Error("no readme-smoke blocks found");
EOF

check() { # check <label> <expected substring> <output>
  if ! grep -qF -- "$2" <<<"$3"; then
    echo "readme-smoke: $1: expected '$2' in:" >&2
    echo "$3" >&2
    exit 1
  fi
  echo "ok - $1"
}

# The curl steps run in this shell (they export GATEHOUSE_API_KEY for the SDK snippets).
steps_out="$(set -euo pipefail; source "$work_dir/steps.sh"; echo "GATEHOUSE_API_KEY=$GATEHOUSE_API_KEY")"
check "curl: create account" '"name":"mock-main"' "$steps_out"
check "curl: admin chat" '"content":"mock: hello"' "$steps_out"
check "curl: grant" '"role":"user"' "$steps_out"
check "curl: models for the VAT" '"id":"mock-main/echo"' "$steps_out"
check "curl: create route" '"name":"smart"' "$steps_out"
check "curl: chat through a route" 'x-gatehouse-target: mock-main/echo' "$steps_out"
check "curl: route answer" '"content":"mock: hello route"' "$steps_out"
check "curl: rate limit" '"requests_per_minute":600' "$steps_out"
check "curl: rate-limit headers" 'x-ratelimit-limit-requests: 600' "$steps_out"
check "curl: budget" '"max_usd":50' "$steps_out"
check "curl: budget header" 'x-gatehouse-budget-remaining-usd: ' "$steps_out"
GATEHOUSE_API_KEY="$(grep -o 'GATEHOUSE_API_KEY=gatehouse_vat_[0-9A-Za-z_]*' <<<"$steps_out" | cut -d= -f2)"
[ -n "$GATEHOUSE_API_KEY" ] || { echo "readme-smoke: no VAT minted" >&2; exit 1; }
export GATEHOUSE_API_KEY

openai_out="$(cd "$work_dir" && timeout 60 node openai.mjs)"
check "openai sdk: chat" "mock: hello" "$openai_out"
check "openai sdk: stream with usage" " tokens" "$openai_out"
check "openai sdk: embeddings" "8" "$openai_out"
check "openai sdk: responses" "mock: hello responses" "$openai_out"
check "openai sdk: responses stream" " output tokens" "$openai_out"

ai_out="$(cd "$work_dir" && timeout 60 node ai-sdk.mjs)"
check "vercel ai sdk: generateText" "mock: hello from ai" "$ai_out"

anthropic_out="$(cd "$work_dir" && timeout 60 node anthropic.mjs)"
check "anthropic sdk: message" "mock: hello" "$anthropic_out"
check "anthropic sdk: stream" "output tokens" "$anthropic_out"

echo "readme-smoke: all README examples work"
