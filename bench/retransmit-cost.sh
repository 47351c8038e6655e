#!/usr/bin/env bash
# What counting retransmits by connection costs the traced host: the retransmit handler's time
# per run, from the kernel's own BPF statistics, while 1,000 connections across a veth pair
# retransmit (their peer's address removed: each segment is retransmitted as its timer doubles).
#
#   sudo bash bench/retransmit-cost.sh [TCPTOP]     (TCPTOP: a tcptop to run, default bin/tcptop)
#
# Makes the namespaces tcptop-rc-a and tcptop-rc-b (10.215.0.1 and .2 in them alone) and
# removes them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
tcptop=${1:-bin/tcptop}
a=tcptop-rc-a
b=tcptop-rc-b
fifo=$(mktemp -u)
cleanup() {
	kill "${tracer:-}" 2>/dev/null || true
	sysctl -qw kernel.bpf_stats_enabled=0
	ip netns pids "$a" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns pids "$b" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	rm -f "$fifo"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add rcx netns "$a" type veth peer name rcy netns "$b"
ip -n "$a" addr add 10.215.0.1/24 dev rcx
ip -n "$b" addr add 10.215.0.2/24 dev rcy
ip -n "$a" link set rcx up
ip -n "$b" link set rcy up
ip netns exec "$b" python3 -c "
import socket, time
server = socket.socket(); server.bind(('10.215.0.2', 7500)); server.listen(1024)
held = [server.accept()[0] for _ in range(1000)]
time.sleep(60)" &
sleep 0.5
mkfifo "$fifo"
ip netns exec "$a" python3 -c "
import socket, time
clients = [socket.create_connection(('10.215.0.2', 7500)) for _ in range(1000)]
open('$fifo').read()
for client in clients: client.send(b'x' * 1000)
time.sleep(60)" &
sleep 2
sysctl -qw kernel.bpf_stats_enabled=1
"$tcptop" -b -d 1 --json > /dev/null &
tracer=$!
sleep 2
ip -n "$b" addr del 10.215.0.2/24 dev rcy
echo go > "$fifo"
sleep 8
bpftool prog show | grep -A2 'name tcptop_retransmit' | grep -o 'run_time_ns [0-9]*\|run_cnt [0-9]*' | paste - - |
	awk '{printf "retransmit handler: %d runs, %.0f ns a run\n", $4, $2 / $4}'
