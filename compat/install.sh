#!/usr/bin/env bash
# Installs the third-party Kafka clients that the compat tests run: kcat
# (librdkafka), kafka-python and confluent-kafka from Debian, and the pinned
# kafkajs from compat/kafkajs/package-lock.json. Safe to run again: it only
# installs what is missing, so a ready machine makes no network calls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

deb_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
deb_installed python3-kafka || missing+=(python3-kafka)
deb_installed python3-confluent-kafka || missing+=(python3-confluent-kafka)

if ((${#missing[@]} > 0)); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "install.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "install.sh: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -d kafkajs/node_modules ]]; then
  command -v npm >/dev/null 2>&1 || { echo "install.sh: npm not found; install Node.js 20" >&2; exit 1; }
  echo "install.sh: installing kafkajs (npm ci in compat/kafkajs)" >&2
  (cd kafkajs && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
