// Batch mode (or trace) on a replay at --speed 0, printing to a pipe: tcptop's peak memory when
// the reader takes the output as fast as it comes, against a reader that stalls for a while
// first, in the same run. A replay waits for a reader that is behind (src/output/batch.ts and
// src/output/trace.ts hand the stream's drain to the replay's timer), so the output does not
// pile up in tcptop's memory.
//
//   npx tsc -p tsconfig.json && node --import=tsx bench/replay-batch-reader.ts [sockets=1000] [seconds=600] [batch|trace]
//
// batch: a snapshot of `sockets` connections, a connect a recorded second, `-b --json`.
// trace: no snapshot, `sockets` connects a recorded second, `trace --json`.
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {setTimeout as delay} from 'node:timers/promises';
import {RecordingSource} from '../src/capture/recording-source.js';
import type {SocketPass, SourceHandlers, TransitionBatch, TransitionSource} from '../src/core/source.js';
import {TcpState} from '../src/core/transition.js';

const sockets = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 600);
const mode = process.argv[4] ?? 'batch';
if (mode !== 'batch' && mode !== 'trace') {
	throw new Error(`mode: batch or trace, not ${mode}`);
}

const snapshotSockets = mode === 'batch' ? sockets : 0;
const connectsPerSecond = mode === 'batch' ? 1 : sockets;
const stallMs = 3000;
const tcptop = fileURLToPath(new URL('../bin/tcptop', import.meta.url));
const startMs = 1e6;
const netns = 4_026_531_840;

/** Delivers a snapshot of established connections, then connects every recorded second. */
class ScriptedSource implements TransitionSource {
	start(handlers: SourceHandlers): void {
		const snapshot: SocketPass = {
			monoMs: startMs, wallMs: 0, namespaces: [netns], owners: true, complete: true,
			sockets: Array.from({length: snapshotSockets}, (_, index) => ({
				monoMs: startMs, wallMs: 0, sock: index + 1, netns, family: 4 as const, laddr: '10.0.0.5', lport: 10_000 + index,
				raddr: '10.0.0.9', rport: 5432, state: TcpState.ESTABLISHED, pid: 812, comm: 'postgres',
				figures: {bytesAcked: index * 1000, bytesReceived: index * 100, srttUs: 250, retransmits: 0},
			})),
		};
		handlers.snapshot?.(snapshot);
		for (let second = 1; second <= seconds; second++) {
			clock = startMs + (second * 1000);
			const batch: TransitionBatch = {
				transitions: Array.from({length: connectsPerSecond}, (_, index) => ({
					monoMs: clock, wallMs: 0, sock: 1e6 + (second * connectsPerSecond) + index, netns, family: 4 as const, laddr: '10.0.0.5', lport: 0, raddr: '10.0.0.9', rport: 80,
					pid: 4242, tid: 4242, comm: 'curl', oldstate: TcpState.CLOSE, newstate: TcpState.SYN_SENT, ms: null,
				})),
				resets: [], accepted: [], dropped: 0, lost: 0,
			};
			handlers.batch(batch);
		}
	}

	async stop(): Promise<void> {}
}

let clock = startMs;
const folder = mkdtempSync(join(tmpdir(), 'tcptop-bench-'));
const path = join(folder, 'recording.ndjson');
const recording = new RecordingSource(new ScriptedSource(), path, {now: () => clock});
recording.start({snapshot() {}, batch() {}, error(error) {
	throw error;
}});
await recording.stop();

type Run = {peakKiB: number; bytes: number; seconds: number};

/** Runs the replay into a pipe read after `stall` ms; tcptop's peak resident memory (VmHWM) is polled. */
async function replay(stall: number): Promise<Run> {
	const began = performance.now();
	const args = mode === 'batch' ? ['-b', '--json'] : ['trace', '--json'];
	const child = spawn(process.execPath, [tcptop, ...args, '--replay', path, '--speed', '0'], {stdio: ['ignore', 'pipe', 'inherit']});
	let bytes = 0;
	let peakKiB = 0;
	child.stdout.pause();
	const poll = setInterval(() => {
		try {
			const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
			peakKiB = Math.max(peakKiB, Number(hwm ?? 0));
		} catch {
			// It has exited.
		}
	}, 20);
	const closed = once(child, 'close');
	await delay(stall);
	child.stdout.on('data', (chunk: Buffer) => {
		bytes += chunk.length;
	});
	child.stdout.resume();
	await closed;
	clearInterval(poll);
	return {peakKiB, bytes, seconds: (performance.now() - began) / 1000};
}

// A warm-up, then the two readers side by side, twice.
await replay(0);
const runs: Array<[Run, Run]> = [];
for (let round = 0; round < 2; round++) {
	runs.push([await replay(0), await replay(stallMs)]);
}

const what = mode === 'batch' ? `${sockets.toLocaleString('en-US')} connections, a connect a second` : `${sockets.toLocaleString('en-US')} connects a second`;
console.log(`recording: ${what}, ${seconds} s, ${(statSync(path).size / 1024 / 1024).toFixed(1)} MiB; ${mode === 'batch' ? '-b --json -d 1' : 'trace --json'} at --speed 0`);
for (const [fast, slow] of runs) {
	console.log(`output ${(fast.bytes / 1024 / 1024).toFixed(0)} MiB; tcptop's peak RSS: fast reader ${(fast.peakKiB / 1024).toFixed(0)} MiB (${fast.seconds.toFixed(1)} s), `
		+ `reader stalled ${stallMs / 1000} s ${(slow.peakKiB / 1024).toFixed(0)} MiB (${slow.seconds.toFixed(1)} s): ratio ${(slow.peakKiB / fast.peakKiB).toFixed(2)}`);
}

rmSync(folder, {recursive: true, force: true});
