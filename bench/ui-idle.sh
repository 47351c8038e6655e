#!/usr/bin/env bash
# Idle cost of the live view: tcptop at its default 1 s refresh in a 200x56 tmux pane (about
# 50 rows), with no keys pressed, its CPU time over SECONDS as a share of one core, next to
# `top -d 1` measured the same way. With CONNECTIONS, that many loopback connections are held
# open meanwhile (2 x CONNECTIONS sockets), so runs compare on the same host whatever else the
# machine does. Needs root and a built tree (bash bench/run.sh builds it). TREE runs another
# built checkout's bin/tcptop (a baseline, for a side-by-side comparison). WARMUP sets the
# seconds before the measurement (5; V8 is still compiling the view's code then: 60 gives the
# steady state). tcptop's main thread (JavaScript, React, Ink) is also given on its own.
#
#   sudo bash bench/ui-idle.sh [SECONDS=30] [CONNECTIONS=0]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-30}
connections=${2:-0}
tree=${TREE:-.}
warmup=${WARMUP:-5}
server="tcptop-idle-$$"
ticks=$(getconf CLK_TCK)
holder=
cleanup() {
	tmux -L "$server" kill-server 2>/dev/null || true
	if [[ -n $holder ]]; then
		kill "$holder" 2>/dev/null || true
	fi
}
trap cleanup EXIT

if ((connections > 0)); then
	# Room for both ends of every connection, never less than there was (tcptop runs under it too).
	needed=$((2 * connections + 100))
	if (($(ulimit -n) < needed)); then
		ulimit -n "$needed"
	fi
	exec {ready}< <(exec node --import=tsx bench/hold-connections.ts "$connections")
	holder=$!
	read -r -u "$ready" line
	[[ $line == ready ]]
fi

# CPU seconds (user + system) a process (or, given a path under /proc, a thread) has used so far.
cpu() {
	awk -v ticks="$ticks" '{ print ($14 + $15) / ticks }' "$1/stat"
}

# Runs a command in its own pane for `seconds` after the warm-up; prints its share of a core,
# and its main thread's.
share() {
	tmux -L "$server" new-session -d -s idle -x 200 -y 56 "exec $1"
	local pid
	pid=$(tmux -L "$server" display-message -p -t idle '#{pane_pid}')
	sleep "$warmup"
	local before main
	before=$(cpu "/proc/$pid")
	main=$(cpu "/proc/$pid/task/$pid")
	sleep "$seconds"
	local after main_after
	after=$(cpu "/proc/$pid")
	main_after=$(cpu "/proc/$pid/task/$pid")
	tmux -L "$server" kill-server
	awk -v a="$before" -v b="$after" -v m="$main" -v n="$main_after" -v s="$seconds" 'BEGIN { printf "%.2f %.2f\n", 100 * (b - a) / s, 100 * (n - m) / s }'
}

read -r tcptop main < <(share "env NODE_ENV=production $(command -v node) $tree/bin/tcptop")
read -r top _ < <(share "top -d 1")
echo "over ${seconds} s at a 1 s refresh after ${warmup} s, ${connections} connections held, % of one core: tcptop ${tcptop} % (main thread ${main} %), top ${top} %, ratio $(awk -v a="$tcptop" -v b="$top" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')"
