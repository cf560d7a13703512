#!/usr/bin/env bash
# One-command local demo: installs moto if missing, then runs the router's main job against
# moto and a loopback DNS server through the real Lambda handlers. Re-runnable; exits non-zero
# with a message if any step fails. Logs: .demo/demo.log.
#   ./demo.sh          run the demo and stop what it started
#   ./demo.sh --keep   then keep moto and DNS running for `plr` (exports in .demo/env) until Ctrl-C
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v moto_server >/dev/null 2>&1; then
  echo "installing moto (pip install 'moto[server]==5.2.1')…"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
# Ask cargo where it put the binary (CARGO_TARGET_DIR, .cargo/config and profiles all move it).
demo=$(cargo build --quiet --locked -p router-tests --bin demo --message-format=json-render-diagnostics |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$demo" ] || [ ! -x "$demo" ]; then
  echo "demo.sh: cargo built no demo binary" >&2
  exit 1
fi
exec "$demo" "$@"
