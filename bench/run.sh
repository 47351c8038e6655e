#!/usr/bin/env bash
# Runs tcptop's kernel-side benchmarks (as root, after the set-up): the capture overhead,
# then the start-up snapshot, then socket passes over many network namespaces. Arguments go to the capture-overhead benchmark. The connection
# model's benchmarks run on their own (see bench/README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cc -O2 -Wall -pthread bench/loadgen.c -o /tmp/tcptop-loadgen
node --import=tsx bench/capture-overhead.ts "$@"
node --expose-gc --import=tsx bench/snapshot.ts
cc -O2 -Wall bench/netns-hold.c -o /tmp/tcptop-netns-hold
node --import=tsx bench/netns-passes.ts
