#!/usr/bin/env bash
# Installs and builds everything tcptop needs, and does nothing when all is in place:
#   1. Debian packages: the BPF toolchain (clang, llvm, bpftool), libbpf, the native build
#      tools, and what the tests use (iproute2 for ss and ip, tmux); with --tests (npm test)
#      also what only the tests use: Prometheus and promtool, which tcptop never needs, and
#      man-db, to render the manual page;
#   2. npm dependencies;
#   3. the native addon (BPF object embedded as a skeleton), when its sources changed;
#   4. the command line, bundled from the TypeScript sources (scripts/bundle.mjs), when they changed.
# Progress goes to stderr, so stdout stays clean for `tcptop trace --json`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec 1>&2

say() { printf 'tcptop setup: %s\n' "$*"; }

# The BPF program is built against the running kernel's BTF (bpf/Makefile), so where the addon
# is to be built, the kernel is checked first, before anything is installed: the same checks,
# and the same lines, as tcptop's at start (BpfSession::Open in native/bpf_session.cc).
addon=build/Release/tcptop.node
build_addon=false
if [[ ! -f $addon || -n $(find native bpf binding.gyp -newer "$addon" -print -quit) ]]; then
	build_addon=true
	release=$(uname -r)
	if [[ $release =~ ^([0-9]+)\.([0-9]+) ]] && ((BASH_REMATCH[1] < 5 || (BASH_REMATCH[1] == 5 && BASH_REMATCH[2] < 11))); then
		printf 'tcptop: capturing needs Linux 5.11 or later (this kernel is %s): boot a newer kernel\n' "$release"
		exit 1
	fi
	if [[ ! -r /sys/kernel/btf/vmlinux ]]; then
		printf 'tcptop: this kernel exposes no BTF (/sys/kernel/btf/vmlinux): boot a kernel built with CONFIG_DEBUG_INFO_BTF=y\n'
		exit 1
	fi
fi

packages=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ python3 pkg-config iproute2 tmux)
if [[ ${1:-} == --tests ]]; then
	packages+=(prometheus man-db)
fi
missing=()
for package in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
	if [[ $(id -u) != 0 ]]; then
		say "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}) or run this as root"
		exit 1
	fi
	say "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
	say "installing npm dependencies"
	npm ci --no-audit --no-fund --loglevel=error
fi

if $build_addon; then
	say "building the native addon and its BPF program"
	npx --no-install node-gyp rebuild --loglevel=error >/dev/null
fi

stamp=dist/.built
if [[ ! -f $stamp || -n $(find src scripts/bundle.mjs package.json -newer "$stamp" -print -quit) ]]; then
	say "bundling the command line"
	node scripts/bundle.mjs
	touch "$stamp"
fi
