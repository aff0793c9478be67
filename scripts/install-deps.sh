#!/usr/bin/env bash
# Installs what building and testing mee needs on a fresh Debian machine, and nothing when it is
# all there already. Build: cmake and libcurl headers for rdkafka's bundled librdkafka (the system
# librdkafka 1.9 cannot talk to the broker we test with). Services: see scripts/services.sh.
set -euo pipefail

PACKAGES=(cmake g++ make pkg-config libcurl4-openssl-dev libssl-dev zlib1g-dev libzstd-dev
  libsasl2-dev mariadb-server mariadb-client curl python3-venv)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3-venv is Debian's; a pyenv/other python3 that already has venv does not need it.
if [ ${#missing[@]} -gt 0 ] && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv/}")
fi
read -r -a missing <<<"${missing[*]:-}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "[deps] installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "[deps] error: cargo is not installed; install Rust with rustup (toolchain pinned in rust-toolchain.toml)" >&2
  exit 1
fi

# The services' own tools (osmem-server, tansu) are installed on first start by scripts/services.sh.
"$(dirname "$0")/services.sh" install
