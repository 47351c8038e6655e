#!/usr/bin/env node
// npm's install step for an installed tcptop package (npm install -g ./tcptop-VERSION.tgz):
// nothing to do where the package carries a prebuilt addon for this platform (linux-x64: the
// addon with the CO-RE BPF program embedded, built once and relocated by libbpf through the
// kernel's BTF); elsewhere, the addon is built from the sources the package carries, after
// checking that the tools it needs are there, and naming the ones missing.
// In a checkout (src/ is there), scripts/setup.sh does the set-up and builds: nothing here.
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import {arch, platform} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = message => {
	process.stderr.write(`tcptop install: ${message}\n`);
};

if (existsSync(join(root, 'src')) || existsSync(join(root, 'prebuilds', `${platform()}-${arch()}`, 'tcptop.node'))) {
	process.exit(0);
}

if (platform() !== 'linux') {
	say(`tcptop runs on Linux only (this is ${platform()})`);
	process.exit(1);
}

// What the build needs, as Debian and Ubuntu name the packages that hold it.
const needs = [
	['clang', 'clang'], ['llvm-strip', 'llvm'], ['bpftool', 'bpftool'], ['make', 'make'], ['g++', 'g++'], ['python3', 'python3'],
	['/usr/include/bpf/libbpf.h', 'libbpf-dev'], ['/usr/include/libelf.h', 'libelf-dev'], ['/usr/include/zlib.h', 'zlib1g-dev'],
];
const onPath = command => spawnSync('sh', ['-c', `command -v ${command}`], {stdio: 'ignore'}).status === 0;
const missing = needs.filter(([what]) => !(what.startsWith('/') ? existsSync(what) : onPath(what))).map(([, debianPackage]) => debianPackage);
if (missing.length > 0) {
	say(`no prebuilt addon for linux-${arch()}: building it needs ${missing.join(', ')} (apt-get install ${missing.join(' ')}; other distributions: the packages holding clang, llvm, bpftool, make, g++ and the libbpf, libelf and zlib headers)`);
	process.exit(1);
}

// The BPF build reads the running kernel's BTF (vmlinux.h), as tcptop does at run time.
if (!existsSync('/sys/kernel/btf/vmlinux')) {
	say('this kernel exposes no BTF (/sys/kernel/btf/vmlinux), which building tcptop and running it need: boot a kernel built with CONFIG_DEBUG_INFO_BTF=y');
	process.exit(1);
}

say(`no prebuilt addon for linux-${arch()}: building it from source`);
const build = spawnSync('node-gyp', ['rebuild'], {cwd: root, stdio: 'inherit'});
if (build.error) {
	say(`cannot run node-gyp (npm runs install steps with it on the PATH): ${build.error.message}`);
}

process.exit(build.status ?? 1);
