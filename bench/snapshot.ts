// The start-up snapshot at scale: fills the host with loopback TIME_WAIT sockets (the load
// generator, graceful variant; each run listens on a new port, so the TIME_WAITs of the
// runs add up, to the kernel's tcp_max_tw_buckets), then times KernelSource.start() with and
// without the snapshot, side by side with `ss -tan` listing the same sockets; and what a
// socket pass costs the connection table (ConnectionTable.applyPass) once it holds them.
//
// Usage: node --expose-gc --import=tsx bench/snapshot.ts [LOAD_RUNS]
import {execFileSync} from 'node:child_process';
import {performance} from 'node:perf_hooks';
import {KernelSource} from '../src/capture/kernel-source.js';
import type {ExistingSocket} from '../src/core/transition.js';
import type {SocketPass} from '../src/core/source.js';
import {ConnectionTable} from '../src/model/connection-table.js';

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

async function startAndStop(withSnapshot: boolean): Promise<{ms: number; sockets: readonly ExistingSocket[]; snapshot?: SocketPass; bytes: number}> {
	const before = heap();
	let sockets: readonly ExistingSocket[] = [];
	let snapshot: SocketPass | undefined;
	const source = new KernelSource();
	const started = performance.now();
	source.start({
		...(withSnapshot ? {snapshot(pass: SocketPass) {
			sockets = pass.sockets;
			snapshot = pass;
		}} : {}),
		batch() {},
		error() {},
	});
	const ms = performance.now() - started;
	const bytes = heap() - before;
	await source.stop();
	return {ms, sockets, snapshot, bytes};
}

/** Milliseconds the table takes for a complete pass, and for one of full sockets only. */
function passCosts(snapshot: SocketPass): {complete: number; countersOnly: number; full: number} {
	const table = new ConnectionTable({maxConnections: snapshot.sockets.length + 1});
	for (const socket of snapshot.sockets) {
		table.upsertFromSnapshot(socket);
	}

	let started = performance.now();
	table.applyPass({...snapshot, monoMs: snapshot.monoMs + 1000, owners: false});
	const complete = performance.now() - started;
	const fullSockets = snapshot.sockets.filter(socket => socket.figures !== undefined);
	started = performance.now();
	table.applyPass({...snapshot, sockets: fullSockets, monoMs: snapshot.monoMs + 2000, owners: false, complete: false});
	return {complete, countersOnly: performance.now() - started, full: fullSockets.length};
}

const rows: string[] = [];
for (let round = 0; round < 3; round++) {
	const plain = await startAndStop(false);
	const withSnapshot = await startAndStop(true);
	const started = performance.now();
	const ssLines = execFileSync('ss', ['-tanH'], {encoding: 'utf8', maxBuffer: 1 << 30}).split('\n').length - 1;
	const ssMs = performance.now() - started;
	const costs = passCosts(withSnapshot.snapshot!);
	rows.push([
		`sockets ${withSnapshot.sockets.length} (ss: ${ssLines})`,
		`start ${plain.ms.toFixed(1)} ms, with snapshot ${withSnapshot.ms.toFixed(1)} ms`,
		`snapshot ${(withSnapshot.ms - plain.ms).toFixed(1)} ms (ss -tan ${ssMs.toFixed(1)} ms, ratio ${((withSnapshot.ms - plain.ms) / ssMs).toFixed(2)})`,
		`memory ${(withSnapshot.bytes / 1024 / 1024).toFixed(1)} MiB (${(withSnapshot.bytes / Math.max(1, withSnapshot.sockets.length)).toFixed(0)} bytes a socket)`,
		`table: complete pass ${costs.complete.toFixed(1)} ms, counters pass of the ${costs.full} full sockets ${costs.countersOnly.toFixed(1)} ms`,
	].join('  '));
}

console.log(rows.join('\n'));
