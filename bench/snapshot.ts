// The start-up snapshot at scale: fills the host with loopback TIME_WAIT sockets (the load
// generator, graceful variant; each run listens on a new port, so the TIME_WAITs of the
// runs add up, to the kernel's tcp_max_tw_buckets), then times KernelSource.start() with and
// without the snapshot, side by side with `ss -tan` listing the same sockets.
//
// Usage: node --expose-gc --import=tsx bench/snapshot.ts [LOAD_RUNS]
import {execFileSync} from 'node:child_process';
import {performance} from 'node:perf_hooks';
import {KernelSource} from '../src/capture/kernel-source.js';
import type {ExistingSocket} from '../src/capture/transition.js';
import type {SocketPass} from '../src/capture/source.js';

const loadRuns = Number(process.argv[2] ?? 6);
for (let run = 0; run < loadRuns; run++) {
	execFileSync('/tmp/tcptop-loadgen', ['single', 'graceful', '1.5']);
}

const gc = globalThis.gc ?? (() => {});
const heap = () => {
	gc();
	const usage = process.memoryUsage();
	return usage.heapUsed + usage.arrayBuffers;
};

async function startAndStop(withSnapshot: boolean): Promise<{ms: number; sockets: readonly ExistingSocket[]; bytes: number}> {
	const before = heap();
	let sockets: readonly ExistingSocket[] = [];
	const source = new KernelSource();
	const started = performance.now();
	source.start({
		...(withSnapshot ? {snapshot(pass: SocketPass) {
			sockets = pass.sockets;
		}} : {}),
		batch() {},
		error() {},
	});
	const ms = performance.now() - started;
	const bytes = heap() - before;
	await source.stop();
	return {ms, sockets, bytes};
}

const rows: string[] = [];
for (let round = 0; round < 3; round++) {
	const plain = await startAndStop(false);
	const withSnapshot = await startAndStop(true);
	let started = performance.now();
	const ssLines = execFileSync('ss', ['-tanH'], {encoding: 'utf8', maxBuffer: 1 << 30}).split('\n').length - 1;
	const ssMs = performance.now() - started;
	started = performance.now();
	rows.push([
		`sockets ${withSnapshot.sockets.length} (ss: ${ssLines})`,
		`start ${plain.ms.toFixed(1)} ms, with snapshot ${withSnapshot.ms.toFixed(1)} ms`,
		`snapshot ${(withSnapshot.ms - plain.ms).toFixed(1)} ms (ss -tan ${ssMs.toFixed(1)} ms, ratio ${((withSnapshot.ms - plain.ms) / ssMs).toFixed(2)})`,
		`memory ${(withSnapshot.bytes / 1024 / 1024).toFixed(1)} MiB (${(withSnapshot.bytes / Math.max(1, withSnapshot.sockets.length)).toFixed(0)} bytes a socket)`,
	].join('  '));
}

console.log(rows.join('\n'));
