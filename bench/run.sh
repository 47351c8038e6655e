#!/usr/bin/env bash
# Runs tcptop's benchmarks (as root, after the set-up): the capture overhead, then the
# connection model's. Arguments go to the capture-overhead benchmark.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cc -O2 -Wall -pthread bench/loadgen.c -o /tmp/tcptop-loadgen
node --import=tsx bench/capture-overhead.ts "$@"
