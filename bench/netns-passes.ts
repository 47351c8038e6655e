// What a socket pass costs when the host's sockets live in many network namespaces: the same
// number of loopback connections held in NAMESPACES namespaces, then all in one, each layout
// walked the same way (the addon's complete pass with owners, as the start-up snapshot takes
// it, counters passes, as every refresh takes them, and listeners passes, as a big host's
// refreshes take them between counters passes), side by side in one run; then as many
// namespaces without a TCP socket.
//
// Usage: sudo node --import=tsx bench/netns-passes.ts [NAMESPACES] [CONNS_PER_NAMESPACE] [PASSES]
import {execFileSync, spawn, type ChildProcessByStdio} from 'node:child_process';
import {once} from 'node:events';
import {existsSync} from 'node:fs';
import {performance} from 'node:perf_hooks';
import {createInterface} from 'node:readline';
import type {Readable, Writable} from 'node:stream';
import {loadAddon, PassKind, type NativeCapture} from '../src/capture/addon.js';
import {decodePass, RECORD_SIZE} from '../src/capture/decode.js';

const namespaces = Number(process.argv[2] ?? 100);
const connsPerNamespace = Number(process.argv[3] ?? 100);
const passes = Number(process.argv[4] ?? 10);
const holder = '/tmp/tcptop-netns-hold';
/** Connections a holder process keeps: two descriptors each, within a 20,000-file limit. */
const perHolder = 9000;
if (!existsSync(holder)) {
	execFileSync('cc', ['-O2', '-Wall', new URL('netns-hold.c', import.meta.url).pathname, '-o', holder]);
}

type Figures = {layout: string; sockets: number; walked: number; completeMs: number; countersMs: number; countersRecords: number; listenersMs: number};

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(spaces: number, conns: number): Promise<Figures> {
	const names = Array.from({length: spaces}, (_, index) => `tcptop-bench-${process.pid}-${index}`);
	for (const name of names) {
		execFileSync('ip', ['netns', 'add', name]);
		execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
	}

	// Holders of at most `perHolder` connections each (a process's open files are limited).
	const holders: ChildProcessByStdio<Writable, Readable, null>[] = [];
	const split = Math.max(1, Math.ceil(conns / perHolder));
	const namesPerHolder = conns === 0 ? names.length : Math.max(1, Math.floor(perHolder / conns));
	for (let first = 0; first < names.length; first += namesPerHolder) {
		for (let part = 0; part < split; part++) {
			const share = Math.ceil(conns / split);
			holders.push(spawn(holder, [String(share), ...names.slice(first, first + namesPerHolder)], {stdio: ['pipe', 'pipe', 'inherit']}));
		}
	}

	let capture: NativeCapture | undefined;
	try {
		for (const held of holders) {
			const [line] = await once(createInterface({input: held.stdout}), 'line') as [string];
			if (line !== 'ready') {
				throw new Error(`a holder said ${line}`);
			}
		}

		let delivered: ((records: number) => void) | undefined;
		const {Capture} = loadAddon();
		capture = new Capture({transport: 'ringbuf', family: 0, pid: 0, localPorts: [], remotePorts: [], acceptOwners: false}, (block, _dropped, _lost, _errno, passMs) => {
			if (passMs !== 0) {
				delivered?.(block.byteLength / RECORD_SIZE);
			}
		}, () => {});
		const complete: number[] = [];
		let sockets = 0;
		let walked = 0;
		for (let index = 0; index < passes; index++) {
			const started = performance.now();
			const block = capture.snapshot();
			complete.push(performance.now() - started);
			const pass = decodePass(block, 0);
			sockets = pass.sockets.length;
			walked = pass.namespaces.length;
		}

		const counters: number[] = [];
		let countersRecords = 0;
		for (let index = 0; index < passes; index++) {
			const started = performance.now();
			const done = new Promise<number>(resolve => {
				delivered = resolve;
			});
			capture.requestPass(PassKind.counters);
			countersRecords = await done;
			counters.push(performance.now() - started);
		}

		// The listeners alone (what a big host's refreshes take between its counters passes).
		const listeners: number[] = [];
		for (let index = 0; index < passes; index++) {
			const started = performance.now();
			const done = new Promise<number>(resolve => {
				delivered = resolve;
			});
			capture.requestPass(PassKind.listeners);
			await done;
			listeners.push(performance.now() - started);
		}

		return {
			layout: spaces === 0 ? 'the host\'s own namespace only' : `${spaces} namespace${spaces === 1 ? '' : 's'} x ${conns} connections`,
			sockets, walked, completeMs: median(complete), countersMs: median(counters), countersRecords, listenersMs: median(listeners),
		};
	} finally {
		capture?.stop();
		for (const held of holders) {
			held.stdin.end();
			if (held.exitCode === null) {
				await once(held, 'exit');
			}
		}

		for (const name of names) {
			execFileSync('ip', ['netns', 'del', name]);
		}
	}
}

const spread = await measure(namespaces, connsPerNamespace);
const together = await measure(1, namespaces * connsPerNamespace);
// Namespaces without a TCP socket are known so from their counters, without a walk.
const empty = await measure(namespaces, 0);
const alone = await measure(0, 0);
console.log(`${passes} passes of each, medians; sockets: those the complete pass listed (every namespace, the host's own included)`);
console.log('| layout | sockets | namespaces walked | complete pass (owners) | counters pass | records a counters pass sends | listeners pass |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const figures of [spread, together, empty, alone]) {
	console.log(`| ${figures.layout} | ${figures.sockets.toLocaleString('en-US')} | ${figures.walked} | ${figures.completeMs.toFixed(1)} ms | ${figures.countersMs.toFixed(1)} ms | ${figures.countersRecords.toLocaleString('en-US')} | ${figures.listenersMs.toFixed(2)} ms |`);
}

const extra = spread.walked - together.walked;
console.log(`ratio spread/together: complete ${(spread.completeMs / together.completeMs).toFixed(2)}, counters ${(spread.countersMs / together.countersMs).toFixed(2)}; `
	+ `per extra namespace: complete ${((spread.completeMs - together.completeMs) / extra).toFixed(2)} ms, counters ${((spread.countersMs - together.countersMs) / extra).toFixed(2)} ms; `
	+ `per empty namespace: complete ${((empty.completeMs - alone.completeMs) / namespaces).toFixed(3)} ms, counters ${((empty.countersMs - alone.countersMs) / namespaces).toFixed(3)} ms; `
	+ `listeners pass / counters pass, 10,000 connections in one namespace: ${(together.listenersMs / together.countersMs).toFixed(3)}`);
