// Replay ingest: a large recording read back at --speed 0 (src/capture/replay-source.ts) into
// the connection table, against the same batches handed to the table from memory (the model
// alone), in the same run; and the cost of writing the recording (src/capture/recording-source.ts).
// Both go through feedTable, as the live view does.
//
//   node --import=tsx bench/replay-ingest.ts [transitions=1000000]
import {mkdtempSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {RecordingSource} from '../src/capture/recording-source.js';
import {ReplaySource} from '../src/capture/replay-source.js';
import type {SourceHandlers, TransitionBatch, TransitionSource} from '../src/core/source.js';
import {TcpState, type Transition} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {feedTable} from '../src/model/feed-table.js';

const total = Number(process.argv[2] ?? 1_000_000);
// About what the kernel side hands over per 10 ms drain under a heavy loopback churn.
const perBatch = 4096;
const {CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, LISTEN} = TcpState;

// The workload of bench/model-ingest.ts: per loopback connection the client's active open (lport 0
// first) and close, the server child's passive open and close; ephemeral ports wrap.
const client: Array<[number, number]> = [[CLOSE, SYN_SENT], [SYN_SENT, ESTABLISHED], [ESTABLISHED, FIN_WAIT1], [FIN_WAIT1, FIN_WAIT2], [FIN_WAIT2, CLOSE]];
const server: Array<[number, number]> = [[LISTEN, SYN_RECV], [SYN_RECV, ESTABLISHED], [ESTABLISHED, CLOSE_WAIT], [CLOSE_WAIT, LAST_ACK], [LAST_ACK, CLOSE]];

function workload(count: number): TransitionBatch[] {
	const batches: TransitionBatch[] = [];
	let transitions: Transition[] = [];
	let monoMs = 1e6;
	const put = (connection: number, isClient: boolean, step: number) => {
		const [oldstate, newstate] = (isClient ? client : server)[step]!;
		const ephemeral = 32_768 + (connection % 28_000);
		monoMs += 0.02;
		transitions.push({
			monoMs, wallMs: monoMs + 1.7e12, sock: ((connection * 2) + (isClient ? 0 : 1)) * 4096, netns: 4_026_531_840,
			family: 4, laddr: '127.0.0.1', lport: isClient ? (step === 0 ? 0 : ephemeral) : 8080, raddr: '127.0.0.1', rport: isClient ? 8080 : ephemeral,
			pid: isClient ? 4242 : 0, tid: isClient ? 4242 : 0, comm: isClient ? 'curl' : 'swapper/0', oldstate, newstate, ms: step === 0 ? null : 0.02,
		});
		if (transitions.length === perBatch) {
			batches.push({transitions, resets: [], accepted: [], dropped: 0, lost: 0});
			transitions = [];
		}
	};

	for (let connection = 0; batches.length * perBatch < count; connection++) {
		for (let step = 0; step < 5; step++) {
			put(connection, true, step);
			put(connection, false, step);
		}
	}

	return batches;
}

/** Hands the batches over as fast as they are taken, from memory. */
class MemorySource implements TransitionSource {
	handlers: SourceHandlers | undefined;

	constructor(private readonly batches: readonly TransitionBatch[]) {}

	start(handlers: SourceHandlers): void {
		for (const batch of this.batches) {
			handlers.batch(batch);
		}

		handlers.end?.();
	}

	async stop(): Promise<void> {}
}

const batches = workload(total);
const transitions = batches.length * perBatch;
const lastMs = batches.at(-1)!.transitions.at(-1)!.monoMs;
const folder = mkdtempSync(join(tmpdir(), 'tcptop-bench-'));
const path = join(folder, 'bench.ndjson');
const perSecond = (seconds: number) => `${(transitions / seconds / 1e6).toFixed(2)} M/s`;

async function record(): Promise<number> {
	const source = new RecordingSource(new MemorySource(batches), path);
	const start = performance.now();
	source.start({batch() {}, error() {}});
	await source.stop();
	return (performance.now() - start) / 1000;
}

function modelOnly(): number {
	const table = new ConnectionTable();
	const start = performance.now();
	feedTable(new MemorySource(batches), table, () => lastMs, error => {
		throw error;
	});
	return (performance.now() - start) / 1000;
}

async function replay(): Promise<number> {
	const table = new ConnectionTable();
	const source = new ReplaySource(path, {speed: 0});
	const start = performance.now();
	await new Promise<void>((resolve, reject) => {
		// feedTable does not listen for the end; a source in between tells it.
		feedTable({
			start(handlers) {
				source.start({...handlers, end: resolve, error: reject});
			},
			stop: async () => source.stop(),
		}, table, () => source.now(), reject);
	});
	const seconds = (performance.now() - start) / 1000;
	await source.stop();
	return seconds;
}

// Warm up every path, then take the best of three: the boxes are shared and noisy.
const writeSeconds = Math.min(await record(), await record(), await record());
const bytes = statSync(path).size;
modelOnly();
await replay();
const model = Math.min(modelOnly(), modelOnly(), modelOnly());
const replayed = Math.min(await replay(), await replay(), await replay());
rmSync(folder, {recursive: true, force: true});

console.log(`transitions: ${transitions.toLocaleString('en-US')} in ${batches.length} batches of ${perBatch}`);
console.log(`recording: ${(bytes / 1024 / 1024).toFixed(1)} MiB, ${(bytes / transitions).toFixed(0)} bytes a transition`);
console.log(`writing the recording:            ${perSecond(writeSeconds)}`);
console.log(`model alone (batches from memory): ${perSecond(model)}`);
console.log(`replay --speed 0 into the model:   ${perSecond(replayed)}  (${(model / replayed).toFixed(2)}x the model alone's rate)`);
