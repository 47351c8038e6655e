// Live sessions recorded from the kernel and replayed: the same events come out, the model ends
// in the same state, trace's filters in JavaScript give what the kernel's give live, and a
// recording killed mid-way still replays.
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {chmodSync, readFileSync, readlinkSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {KernelSource} from '../src/capture/kernel-source.js';
import {RecordingSource} from '../src/capture/recording-source.js';
import {ReplaySource} from '../src/capture/replay-source.js';
import type {SocketPass, SourceHandlers, TransitionBatch, TransitionSource} from '../src/core/source.js';
import type {ExistingSocket, Reset, SocketFigures, Transition} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {RateSeries} from '../src/model/transition-rates.js';
import {feedTable} from '../src/model/feed-table.js';
import {attached, finish, run, start} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {alone} from './helpers/load-lock.js';
import {closedPort, connectAndClose, connectAndReset, connectRefused, listen} from './helpers/net.js';
import {recordingsFolder, unprivileged} from './helpers/recording.js';

/** Passes everything on, keeping a copy. */
class Collecting implements TransitionSource {
	snapshot: SocketPass | undefined;
	readonly batches: TransitionBatch[] = [];
	readonly ended: Promise<void>;
	#end!: () => void;

	constructor(private readonly inner: TransitionSource) {
		this.ended = new Promise(resolve => {
			this.#end = resolve;
		});
	}

	start(handlers: SourceHandlers): void {
		this.inner.start({
			snapshot: pass => {
				this.snapshot = pass;
				handlers.snapshot?.(pass);
			},
			batch: batch => {
				this.batches.push(batch);
				handlers.batch(batch);
			},
			end: () => {
				this.#end();
			},
			error: error => {
				handlers.error(error);
			},
		});
	}

	async stop(): Promise<void> {
		await this.inner.stop();
	}
}

// Every field of each kind of event, so a field the recording dropped would show.
const transitionFields: Record<keyof Transition, true> = {
	monoMs: true, wallMs: true, sock: true, netns: true, family: true, laddr: true, lport: true, raddr: true, rport: true,
	pid: true, tid: true, comm: true, oldstate: true, newstate: true, ms: true, orphaned: true,
};
const resetFields: Record<keyof Reset, true> = {
	monoMs: true, wallMs: true, sock: true, netns: true, family: true, laddr: true, lport: true, raddr: true, rport: true,
	pid: true, comm: true, state: true, sent: true,
};
// A socket's control group id is this host's: recordings leave it out.
const socketFields: Record<Exclude<keyof ExistingSocket, 'cgroupId'>, true> = {
	monoMs: true, wallMs: true, sock: true, netns: true, family: true, laddr: true, lport: true, raddr: true, rport: true,
	state: true, pid: true, comm: true, figures: true, queue: true,
};

// Drops are the capture's, counted since it started: a recording keeps none (as the host's).
const figuresFields: Record<Exclude<keyof SocketFigures, 'drops' | 'dropReason'>, true> = {bytesAcked: true, bytesReceived: true, srttUs: true, retransmits: true};

function fieldsOf<T extends object>(item: T, fields: Partial<Record<keyof T, true>>): Record<string, unknown> {
	return Object.fromEntries(Object.keys(fields).map(name => [name, item[name as keyof T]]));
}

function plainBatch(batch: TransitionBatch) {
	return {
		// A recording writes `orphaned` only where it is true.
		transitions: batch.transitions.map(t => ({...fieldsOf(t, transitionFields), orphaned: t.orphaned === true})),
		resets: batch.resets.map(r => fieldsOf(r, resetFields)),
		accepted: batch.accepted.length,
		dropped: batch.dropped,
		lost: batch.lost,
	};
}

/** Everything the table holds, in an order of its own. */
function tableContents(table: ConnectionTable) {
	const rows: Array<Record<string, unknown>> = [];
	table.forEach(c => {
		rows.push({
			key: c.key, state: c.state, previousState: c.previousState, firstSeenMs: c.firstSeenMs, stateSinceMs: c.stateSinceMs,
			pid: c.pid, comm: c.comm, ownerSource: c.ownerSource, direction: c.direction, ending: c.ending,
			transitionCount: c.transitionCount, history: c.history,
		});
	});
	rows.sort((a, b) => String(a.key).localeCompare(String(b.key)));
	const {rates} = table;
	return {
		rows,
		size: table.size,
		evictions: table.evictions,
		states: Array.from({length: 13}, (_, state) => table.countInState(state)),
		edges: rates.edges().map(({from, to}) => [from, to, rates.edgeTotal(from, to), rates.edgeHistory(from, to)]),
		series: Object.values(RateSeries).map(series => [series, rates.seriesTotal(series), series === RateSeries.lost ? [] : rates.seriesHistory(series)]),
	};
}

const monotonicNow = () => Number(process.hrtime.bigint()) / 1e6;

kernelTest('a live session recorded and replayed: the same snapshot and events, field for field, and the same final table', async t => {
	const path = join(recordingsFolder(t), 'live.ndjson');
	const servers = [await listen('127.0.0.1'), await listen('::1')];
	// The recording takes everything the host does meanwhile (other tests' traffic too), with
	// the kernel's socket identities (a recording hides them by default: see the next test),
	// so the tables can be compared key for key.
	const live = new Collecting(new RecordingSource(new KernelSource(), path, {sockMap: sock => sock}));
	const liveTable = new ConnectionTable();
	let failure: Error | undefined;
	await alone(async () => {
		feedTable(live, liveTable, monotonicNow, error => {
			failure = error;
		});
		try {
			for (const server of servers) {
				const host = server === servers[0] ? '127.0.0.1' : '::1';
				for (let i = 0; i < 3; i++) {
					await connectAndClose(host, server.port);
					await connectAndReset(host, server.port);
				}

				await connectRefused(host, await closedPort(host));
				await server.settled();
			}

			await delay(100);
		} finally {
			await live.stop();
			for (const server of servers) {
				await server.close();
			}
		}
	});

	t.is(failure, undefined);
	const replay = new ReplaySource(path, {speed: 0});
	const replayed = new Collecting(replay);
	const replayTable = new ConnectionTable();
	feedTable(replayed, replayTable, () => replay.now(), error => {
		failure = error;
	});
	await replayed.ended;
	await replayed.stop();
	t.is(failure, undefined);

	t.true(live.snapshot!.sockets.length > 0);
	const plainSocket = (s: ExistingSocket) => ({...fieldsOf(s, socketFields), figures: s.figures && fieldsOf(s.figures, figuresFields)});
	t.deepEqual(replayed.snapshot!.sockets.map(s => plainSocket(s)), live.snapshot!.sockets.map(s => plainSocket(s)));
	t.like(replayed.snapshot, {monoMs: live.snapshot!.monoMs, wallMs: live.snapshot!.wallMs, owners: true});
	const ours = live.batches.flatMap(batch => batch.transitions).filter(x => servers.some(server => x.lport === server.port || x.rport === server.port));
	t.true(ours.length >= 2 * ((3 * 5) + (3 * 5)), `our connections' transitions were captured (${ours.length})`);
	t.true(live.batches.some(batch => batch.resets.length > 0));
	t.is(replayed.batches.length, live.batches.length);
	t.deepEqual(replayed.batches.map(batch => plainBatch(batch)), live.batches.map(batch => plainBatch(batch)));

	t.deepEqual(tableContents(replayTable), tableContents(liveTable));
	// And after time has moved on: closed connections leave both alike.
	const later = replay.now() + 5000;
	liveTable.sweep(later);
	replayTable.sweep(later);
	t.deepEqual(tableContents(replayTable), tableContents(liveTable));
});

kernelTest('a recording holds no kernel address: socket identities are keyed afresh for it, one each; the file is 0600', async t => {
	const folder = recordingsFolder(t);
	const server = await listen('127.0.0.1');
	const recordOnce = async (path: string) => {
		const live = new Collecting(new RecordingSource(new KernelSource(), path));
		live.start({batch() {}, error() {}});
		try {
			for (let i = 0; i < 5; i++) {
				await connectAndClose('127.0.0.1', server.port);
			}

			await server.settled();
			await delay(100);
		} finally {
			await live.stop();
		}

		const recorded = readFileSync(path, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line) as {type: string; transitions?: Transition[]})
			.filter(line => line.type === 'batch').flatMap(line => line.transitions!);
		return {live: live.batches.flatMap(batch => batch.transitions), recorded};
	};

	const first = await recordOnce(join(folder, 'first.ndjson'));
	const second = await recordOnce(join(folder, 'second.ndjson'));
	await server.close();
	t.is(statSync(join(folder, 'first.ndjson')).mode & 0o777, 0o600);
	t.is(first.recorded.length, first.live.length);
	t.true(first.live.filter(x => x.lport === server.port || x.rport === server.port).length >= 5 * 10);
	const written = new Map<number, number>();
	for (const [index, live] of first.live.entries()) {
		const hidden = first.recorded[index]!.sock;
		t.not(hidden, live.sock);
		t.true(Number.isInteger(hidden) && hidden >= 0 && hidden < 2 ** 48);
		t.is(written.get(live.sock) ?? hidden, hidden, 'the same socket, the same identity');
		written.set(live.sock, hidden);
	}

	t.is(new Set(written.values()).size, written.size, 'two sockets, two identities');
	// Another recording, another key: the same socket (an address the kernel reused) reads differently.
	const again = new Map(second.live.map((live, index) => [live.sock, second.recorded[index]!.sock]));
	const common = [...written.keys()].filter(sock => again.has(sock));
	t.true(common.every(sock => again.get(sock) !== written.get(sock)));
});

/**
 * The transitions of our own sockets (our port, our network namespace) in JSON output. Each
 * tracer's program stamps its own time, so time and ms, a few microseconds apart, are left out.
 */
function ourLines(stdout: string, port: number): Array<Record<string, unknown>> {
	const netns = Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/net'))![1]);
	return stdout.split('\n').filter(line => line !== '').map(line => JSON.parse(line) as Record<string, unknown>)
		.filter(line => (line.lport === port || line.rport === port) && line.netns === netns)
		.map(({time, ms, ...rest}) => rest);
}

/** Connects to port from a process of its own, `count` times, closing each connection. */
async function connectFromChild(port: number, count: number): Promise<void> {
	const script = `
		const net = require('node:net');
		(async () => {
			for (let i = 0; i < ${count}; i++) {
				const socket = net.connect(${port}, '127.0.0.1');
				await new Promise(resolve => socket.on('connect', resolve));
				socket.end();
				socket.resume();
				await new Promise(resolve => socket.on('close', resolve));
			}
		})();`;
	const child = spawn(process.execPath, ['-e', script], {stdio: 'ignore'});
	const [code] = await once(child, 'exit') as [number];
	if (code !== 0) {
		throw new Error(`the client process exited with ${code}`);
	}
}

kernelTest('trace --record, replayed without privileges: the same output, and the filters select what the kernel\'s select live', async t => {
	const path = join(recordingsFolder(t), 'trace.ndjson');
	const server = await listen('127.0.0.1');
	const port = String(server.port);
	// The recording has no filter but the family; the others filter in the kernel, live.
	const recorder = start(['trace', '--record', path, '--json', '-4']);
	const byPort = start(['trace', '--json', '-4', '--lport', port]);
	const byPid = start(['trace', '--json', '-4', '--pid', String(process.pid)]);
	const tracers = [recorder, byPort, byPid];
	const finished = tracers.map(async child => finish(child));
	try {
		await Promise.all(tracers.map(async child => attached(child)));
		// Sockets of this process, and of another process whose connections this one accepts and closes.
		for (let i = 0; i < 3; i++) {
			await connectAndClose('127.0.0.1', server.port);
			await connectAndReset('127.0.0.1', server.port);
		}

		await connectFromChild(server.port, 3);
		await server.settled();
		await delay(200);
	} finally {
		for (const child of tracers) {
			child.kill('SIGINT');
		}
	}

	const [recorded, livePort, livePid] = await Promise.all(finished);
	await server.close();
	for (const result of [recorded, livePort, livePid]) {
		t.is(result!.code, 0);
		t.is(result!.stderr, '');
	}

	// Handed to the unprivileged replays (tcptop makes its recordings readable by their owner only).
	chmodSync(path, 0o644);
	const replay = async (...args: string[]) => {
		const result = await run(['trace', '--replay', path, '--json', '--speed', '0', ...args], {prefix: unprivileged});
		t.is(result.code, 0);
		t.is(result.stderr, '');
		return result.stdout;
	};

	t.is(await replay(), recorded!.stdout, 'the replay prints what the recording session printed');
	const mine = ourLines(livePort!.stdout, server.port);
	t.true(mine.length >= 9 * 3, `the changes of the 9 connections accepted (${mine.length})`);
	t.deepEqual(ourLines(await replay('--lport', port), server.port), mine);
	t.deepEqual(ourLines(await replay('-4', '--lport', port, '--rport', '1,2,3'), server.port), []);
	const minePid = ourLines(livePid!.stdout, server.port);
	t.true(minePid.length > 0 && minePid.length < ourLines(recorded!.stdout, server.port).length, 'the pid filter keeps some of our port\'s changes, not all');
	t.deepEqual(ourLines(await replay('--pid', String(process.pid)), server.port), minePid);
});

kernelTest('a recording killed with SIGKILL mid-way replays up to its last whole line', async t => {
	const path = join(recordingsFolder(t), 'killed.ndjson');
	const server = await listen('127.0.0.1');
	const recorder = start(['trace', '--record', path, '--json', '-4', '--lport', String(server.port)]);
	const finished = finish(recorder);
	await attached(recorder);
	let stopped = false;
	const load = (async () => {
		while (!stopped) {
			await connectAndClose('127.0.0.1', server.port);
		}
	})();
	// Killed once a few batches are in, while connections are still being made.
	for (let waited = 0; waited < 10_000 && (readFileSync(path, 'utf8').match(/"type":"batch"/g)?.length ?? 0) < 5; waited += 20) {
		await delay(20);
	}

	recorder.kill('SIGKILL');
	const {signal, stdout: printed} = await finished;
	stopped = true;
	await load;
	await server.settled();
	await server.close();
	t.is(signal, 'SIGKILL');

	const text = readFileSync(path, 'utf8');
	const whole = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(line => line !== '');
	t.false(whole.some(line => line.includes('"type":"end"')), 'no end line: it never stopped');
	const recordedTransitions = whole.map(line => JSON.parse(line) as {transitions?: unknown[]}).reduce((sum, record) => sum + (record.transitions?.length ?? 0), 0);
	t.true(recordedTransitions >= 5);

	chmodSync(path, 0o644);
	const {code, stdout, stderr} = await run(['trace', '--replay', path, '--json', '--speed', '0'], {prefix: unprivileged});
	t.is(code, 0);
	t.is(stdout.split('\n').length - 1, recordedTransitions, 'every transition of the whole lines');
	t.true(stdout.startsWith(printed.slice(0, printed.lastIndexOf('\n') + 1)), 'what the killed tcptop printed, and what it wrote but had not printed');
	t.true(stderr === '' || /^tcptop: [^\n]+ is cut short \(the recording was interrupted\)[^\n]*\n$/.test(stderr), stderr);
});
