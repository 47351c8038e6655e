// Ingest throughput: kernel-format record blocks decoded (src/capture/decode.ts) and applied to
// the connection table on one core, against lru-cache alone doing one set per transition with a
// key of the same shape, measured in the same run.
//
//   node --import=tsx bench/model-ingest.ts [transitions=3000000]
import {performance} from 'node:perf_hooks';
import {LRUCache} from 'lru-cache';
import {decodeBlock, RECORD_SIZE} from '../src/capture/decode.js';
import {TcpState} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';

const total = Number(process.argv[2] ?? 3_000_000);
const recordsPerBlock = 4096;
const {CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, LISTEN} = TcpState;

// A loopback client/server pair per connection, as the kernel reports it: the client's active
// open (lport 0 first) and close, the server child's passive open and close; ephemeral ports
// wrap, so tuples are reused while their TIME_WAIT is still in the table.
const client: Array<[number, number, boolean]> = [
	[CLOSE, SYN_SENT, true], [SYN_SENT, ESTABLISHED, false], [ESTABLISHED, FIN_WAIT1, false],
	[FIN_WAIT1, FIN_WAIT2, false], [FIN_WAIT2, CLOSE, false],
];
const server: Array<[number, number, boolean]> = [
	[LISTEN, SYN_RECV, false], [SYN_RECV, ESTABLISHED, false], [ESTABLISHED, CLOSE_WAIT, false],
	[CLOSE_WAIT, LAST_ACK, false], [LAST_ACK, CLOSE, false],
];

function encodeBlocks(count: number): ArrayBuffer[] {
	const blocks: ArrayBuffer[] = [];
	let view = new DataView(new ArrayBuffer(recordsPerBlock * RECORD_SIZE));
	let index = 0;
	let timeNs = 1e12;
	const put = (connection: number, isClient: boolean, [oldstate, newstate, portUnknown]: [number, number, boolean]) => {
		const offset = index * RECORD_SIZE;
		const ephemeral = 32_768 + (connection % 28_000);
		timeNs += 20_000;
		view.setUint32(offset, timeNs % 2 ** 32, true);
		view.setUint32(offset + 4, Math.floor(timeNs / 2 ** 32), true);
		view.setUint32(offset + 8, ((connection * 2) + (isClient ? 0 : 1)) * 4096, true);
		view.setUint32(offset + 24, isClient ? 4242 : 0, true);
		view.setUint32(offset + 32, 4_026_531_840, true);
		view.setUint16(offset + 36, 2, true);
		view.setUint16(offset + 38, isClient ? (portUnknown ? 0 : ephemeral) : 8080, true);
		view.setUint16(offset + 40, isClient ? 8080 : ephemeral, true);
		view.setUint8(offset + 42, oldstate);
		view.setUint8(offset + 43, newstate);
		view.setUint8(offset + 44, 1);
		view.setUint32(offset + 48, 0x01_00_00_7F, true);
		view.setUint32(offset + 64, 0x01_00_00_7F, true);
		new Uint8Array(view.buffer, offset + 80, 4).set([99, 117, 114, 108]);
		if (++index === recordsPerBlock) {
			blocks.push(view.buffer);
			view = new DataView(new ArrayBuffer(recordsPerBlock * RECORD_SIZE));
			index = 0;
		}
	};

	for (let connection = 0; blocks.length * recordsPerBlock < count; connection++) {
		for (let step = 0; step < 5; step++) {
			put(connection, true, client[step]!);
			put(connection, false, server[step]!);
		}
	}

	return blocks;
}

function time(run: () => void): number {
	const start = performance.now();
	run();
	return (performance.now() - start) / 1000;
}

const blocks = encodeBlocks(total);
const transitions = blocks.length * recordsPerBlock;
const perSecond = (seconds: number) => `${(transitions / seconds / 1e6).toFixed(2)} M/s`;

function lruAlone(): number {
	const lru = new LRUCache<string, number>({max: 65_536});
	return time(() => {
		// The same keys the table sees: a client and a server tuple per connection, five each.
		for (let i = 0; i < transitions; i++) {
			const port = 32_768 + ((i / 10 | 0) % 28_000);
			lru.set(i % 2 === 0 ? `127.0.0.1 ${port} 127.0.0.1 8080 4026531840` : `127.0.0.1 8080 127.0.0.1 ${port} 4026531840`, i);
		}
	});
}

function decodeOnly(): number {
	let sink = 0;
	const seconds = time(() => {
		for (const block of blocks) {
			for (const transition of decodeBlock(block, 0).transitions) {
				sink += transition.newstate;
			}
		}
	});
	return sink > 0 ? seconds : Number.NaN;
}

function decodeAndModel(): {seconds: number; table: ConnectionTable} {
	const table = new ConnectionTable();
	const seconds = time(() => {
		for (const block of blocks) {
			const batch = decodeBlock(block, 0).transitions;
			for (const transition of batch) {
				table.apply(transition);
			}

			table.sweep(batch.at(-1)!.monoMs);
		}
	});
	return {seconds, table};
}

// Warm up every path, then take the best of three: the boxes are shared and noisy.
const best = (run: () => number) => Math.min(run(), run(), run());
lruAlone();
decodeOnly();
decodeAndModel();
const lru = best(lruAlone);
const decode = best(decodeOnly);
const model = best(() => decodeAndModel().seconds);
const {table} = decodeAndModel();
console.log(`transitions: ${transitions.toLocaleString('en-US')} in ${blocks.length} blocks of ${recordsPerBlock}`);
console.log(`lru-cache alone, one set per transition: ${perSecond(lru)}`);
console.log(`decode only:                             ${perSecond(decode)}`);
console.log(`decode + connection table:               ${perSecond(model)}  (${(lru / model).toFixed(2)}x lru-cache alone)`);
console.log(`table at end: ${table.size} connections, ${table.evictions} evictions`);
