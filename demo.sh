#!/usr/bin/env bash
# One-command local demo: installs moto if missing, then runs the router's main job against
# moto and a loopback DNS server through the real Lambda handlers. Re-runnable; exits non-zero
# with a message if any step fails. Logs: .demo/demo.log.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v moto_server >/dev/null 2>&1; then
  echo "installing moto (pip install 'moto[server]==5.2.1')…"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
cargo build --quiet --locked -p router-tests --bin demo
exec "${CARGO_TARGET_DIR:-target}/debug/demo"
