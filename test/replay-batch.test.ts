// Batch mode on a replay, as a user without privileges runs it: one document per recorded
// interval, on the recording's clock (ages, rates, uptime and wall time as they were on the
// recorded host), the connections exactly as the recording has them, and the end of the
// recording ending the run.
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {readFileSync, truncateSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {ReplaySource} from '../src/capture/replay-source.js';
import type {SocketPass} from '../src/core/source.js';
import {TcpState, type ExistingSocket, type SocketFigures, type Transition} from '../src/core/transition.js';
import {finish, run, start, tcptop} from './helpers/cli.js';
import {batch, existing, recordingsFolder, unprivileged, writeRecording, type Script} from './helpers/recording.js';
import {assertOneLineError, testUsageErrors} from './helpers/usage-errors.js';

const {CLOSE, SYN_SENT, ESTABLISHED, CLOSE_WAIT, LAST_ACK, LISTEN, TIME_WAIT} = TcpState;
const netns = 4_026_531_840;
// The recorded host's monotonic clock, far from this host's: a run reading its own clock shows other ages.
const startMs = 3_000_000;
const started = '2024-02-29T12:00:00.000Z';
const host = 'db-7';
const kernel = '6.1.0-recorded';

type Connection = {
	pid: number | null; comm: string | null; family: number; netns: number; laddr: string; lport: number; raddr: string; rport: number;
	state: string; age_s: number; state_s: number; tx_bytes: number | null; rx_bytes: number | null; rtt_us: number | null; retransmits: number | null;
};
type Document = {
	time: string; uptime_s: number; interval_s: number; tracked: number; states: Record<string, number>;
	transitions: Array<{from: string; to: string; count: number; per_second: number}>;
	new: {count: number}; closes: {count: number}; lost: number; evicted: number; connections: Connection[];
};

function change(sock: number, atMs: number, oldstate: number, newstate: number, fields: Partial<Transition> = {}): Transition {
	return {
		monoMs: atMs, wallMs: atMs + 1_700_000_000_000, sock, netns, family: 4,
		laddr: '127.0.0.1', lport: 41_234, raddr: '127.0.0.1', rport: 5432, pid: 0, tid: 0, comm: 'swapper/0', ms: null,
		oldstate, newstate, ...fields,
	};
}

// What the recording holds, connection by connection: when it was first seen, the states it
// went through, and when it leaves the list (a closed one stays 3 s; a TIME_WAIT, 60 s).
type Timeline = {
	laddr: string; lport: number; raddr: string; rport: number; pid: number | null; comm: string | null;
	firstMs: number; states: Array<[number, string]>; goneMs?: number;
};

const listener: Timeline = {laddr: '127.0.0.1', lport: 5432, raddr: '0.0.0.0', rport: 0, pid: 77, comm: 'postgres', firstMs: startMs - 500, states: [[startMs - 500, 'LISTEN']]};
// Accepted before the recording; the client closes it at 30 s and postgres never does.
const leaked: Timeline = {laddr: '127.0.0.1', lport: 5432, raddr: '127.0.0.1', rport: 40_000, pid: 77, comm: 'postgres', firstMs: startMs - 500, states: [[startMs - 500, 'ESTABLISHED'], [startMs + 30_000, 'CLOSE_WAIT']]};
const timeWait: Timeline = {laddr: '127.0.0.1', lport: 40_001, raddr: '127.0.0.1', rport: 5432, pid: null, comm: null, firstMs: startMs - 500, states: [[startMs - 500, 'TIME_WAIT']], goneMs: startMs + 59_500};
// Opened 64 s before the recording's end, open until then.
const psql: Timeline = {laddr: '127.0.0.1', lport: 41_234, raddr: '127.0.0.1', rport: 5432, pid: 4242, comm: 'psql', firstMs: startMs + 1000, states: [[startMs + 1000, 'SYN_SENT'], [startMs + 1000, 'ESTABLISHED']]};
// A short request to port 80, closed by its peer at 14 s.
const curl: Timeline = {
	laddr: '127.0.0.1', lport: 41_300, raddr: '127.0.0.1', rport: 80, pid: 5000, comm: 'curl', firstMs: startMs + 12_000,
	states: [[startMs + 12_000, 'SYN_SENT'], [startMs + 12_000.5, 'ESTABLISHED'], [startMs + 13_000, 'CLOSE_WAIT'], [startMs + 14_000, 'LAST_ACK'], [startMs + 14_000.5, 'CLOSE']],
	goneMs: startMs + 17_000.5,
};
const timelines = [listener, leaked, timeWait, psql, curl];

function socket(sock: number, timeline: Timeline, state: number, figures?: SocketFigures): ExistingSocket {
	const {laddr, lport, raddr, rport} = timeline;
	return existing({sock, monoMs: startMs - 500, wallMs: 0, netns, laddr, lport, raddr, rport, state, pid: timeline.pid ?? 0, comm: timeline.comm ?? '', figures});
}

const figures = (bytesAcked: number): SocketFigures => ({bytesAcked, bytesReceived: Math.floor(bytesAcked / 10), srttUs: 250, retransmits: 1});

/** Two counter-reading passes 1 s apart, the leaked connection's bytes acknowledged going up by 250,000. */
function countersPass(atMs: number, leakedAcked: number): SocketPass {
	return {
		monoMs: atMs, wallMs: 0, namespaces: [netns], owners: false, complete: false,
		sockets: [socket(1, listener, LISTEN), socket(2, leaked, ESTABLISHED, figures(leakedAcked)), socket(4, psql, ESTABLISHED, figures(42))],
	};
}

const passes: Array<[number, number]> = [[startMs + 20_000, 1_000_000], [startMs + 21_000, 1_250_000]];

/** 65 recorded seconds: the snapshot, then connections opening, closing and leaking. */
function script(): Script {
	return {
		startMs,
		snapshot: {
			monoMs: startMs - 500, wallMs: 0, namespaces: [netns], owners: true, complete: true,
			sockets: [socket(1, listener, LISTEN), socket(2, leaked, ESTABLISHED, figures(500)), socket(3, timeWait, TIME_WAIT)],
		},
		steps: [
			{at: startMs + 1010, batch: batch({transitions: [
				change(4, startMs + 1000, CLOSE, SYN_SENT, {lport: 0, pid: 4242, tid: 4242, comm: 'psql'}),
				change(4, startMs + 1000, SYN_SENT, ESTABLISHED, {ms: 0}),
			]})},
			{at: startMs + 14_010, batch: batch({transitions: [
				change(5, startMs + 12_000, CLOSE, SYN_SENT, {lport: 0, rport: 80, pid: 5000, tid: 5000, comm: 'curl'}),
				change(5, startMs + 12_000.5, SYN_SENT, ESTABLISHED, {lport: 41_300, rport: 80, ms: 0.5}),
				change(5, startMs + 13_000, ESTABLISHED, CLOSE_WAIT, {lport: 41_300, rport: 80, ms: 999.5}),
				change(5, startMs + 14_000, CLOSE_WAIT, LAST_ACK, {lport: 41_300, rport: 80, pid: 5000, tid: 5000, comm: 'curl', ms: 1000}),
				change(5, startMs + 14_000.5, LAST_ACK, CLOSE, {lport: 41_300, rport: 80, ms: 0.5}),
			]})},
			...passes.map(([at, acked]) => ({at, pass: countersPass(at, acked)})),
			// At the time of a print: in the document of that print.
			{at: startMs + 30_000, batch: batch({transitions: [
				change(2, startMs + 30_000, ESTABLISHED, CLOSE_WAIT, {lport: 5432, rport: 40_000}),
			]})},
		],
		endMs: startMs + 65_000,
	};
}

/** The recording, with the header of a host that is not this one. */
async function record(t: ExecutionContext, name: string, recorded: Script = script()): Promise<string> {
	const path = join(recordingsFolder(t), name);
	await writeRecording(path, recorded);
	const [header, ...rest] = readFileSync(path, 'utf8').split('\n');
	writeFileSync(path, [JSON.stringify({...JSON.parse(header!) as object, host, kernel, started}), ...rest].join('\n'));
	return path;
}

/** What the recording says the list holds at `atMs`, in the document's form (sort aside). */
function expectedRows(atMs: number, txBytes: (timeline: Timeline) => number | null) {
	return timelines
		.filter(timeline => timeline.firstMs <= atMs && (timeline.goneMs === undefined || timeline.goneMs > atMs))
		.map(timeline => {
			const [since, state] = timeline.states.findLast(([at]) => at <= atMs)!;
			const {laddr, lport, raddr, rport, pid, comm} = timeline;
			return {pid, comm, laddr, lport, raddr, rport, state, age_s: round((atMs - timeline.firstMs) / 1000), state_s: round((atMs - since) / 1000), tx_bytes: txBytes(timeline)};
		})
		.sort(byTuple);
}

function round(value: number): number {
	return Math.round(value * 1000) / 1000;
}

function byTuple(a: {lport: number; rport: number}, b: {lport: number; rport: number}): number {
	return a.lport - b.lport || a.rport - b.rport;
}

/** Bytes the recording's last pass at or before `atMs` gave the connection. */
function txBytesAt(atMs: number) {
	return (timeline: Timeline): number | null => {
		if (timeline === leaked) {
			return passes.findLast(([at]) => at <= atMs)?.[1] ?? 500;
		}

		if (timeline === psql) {
			return atMs >= passes[0]![0] ? 42 : null;
		}

		return null;
	};
}

function shown(document: Document) {
	return document.connections
		.map(({pid, comm, laddr, lport, raddr, rport, state, age_s, state_s, tx_bytes}) => ({pid, comm, laddr, lport, raddr, rport, state, age_s, state_s, tx_bytes}))
		.sort(byTuple);
}

async function replayBatch(args: string[]) {
	const finished = await run(['-b', '--json', '--speed', '0', ...args], {prefix: unprivileged});
	const documents = finished.stdout === '' ? [] : finished.stdout.trim().split('\n').map(line => JSON.parse(line) as Document);
	return {...finished, documents};
}

test('-b --json on a replay: a document every recorded -d seconds, with the recording\'s connections, states, ages and counters', async t => {
	const path = await record(t, 'batch.ndjson');
	const {code, stderr, documents} = await replayBatch(['--replay', path, '-d', '5']);
	t.is(code, 0);
	t.is(stderr, '');
	// 65 recorded seconds, one print at the start and one every 5 s: 14 documents.
	t.is(documents.length, 14);
	for (const [index, document] of documents.entries()) {
		const atMs = startMs + (index * 5000);
		t.is(document.uptime_s, index * 5, `document ${index}`);
		t.is(document.interval_s, index === 0 ? 0 : 5);
		t.is(document.time, new Date(Date.parse(started) + (atMs - startMs)).toISOString(), 'the recorded host\'s wall-clock time');
		t.deepEqual(shown(document), expectedRows(atMs, txBytesAt(atMs)), `the list at ${index * 5} s`);
		const sockets = expectedRows(atMs, () => null).filter(row => row.state !== 'CLOSE');
		t.deepEqual(document.states, Object.fromEntries([...new Set(sockets.map(row => row.state))].map(state => [state, sockets.filter(row => row.state === state).length])));
		t.is(document.tracked, document.connections.length);
		t.is(document.lost, 0);
	}

	const last = documents.at(-1)!;
	t.like(last.connections.find(c => c.lport === psql.lport), {state: 'ESTABLISHED', age_s: 64, state_s: 64, pid: 4242, comm: 'psql'});
	t.like(last.connections.find(c => c.rport === leaked.rport), {state: 'CLOSE_WAIT', state_s: 35, age_s: 65.5, tx_bytes: 1_250_000, rx_bytes: 125_000, rtt_us: 250, retransmits: 1});
	// Each transition in the document of the interval it was recorded in, and in no other.
	const edges = documents.map(document => document.transitions.map(({from, to, count}) => `${from}->${to} ${count}`).sort());
	t.deepEqual(edges[1], ['CLOSE->SYN_SENT 1', 'SYN_SENT->ESTABLISHED 1']);
	t.deepEqual(edges[3], ['CLOSE->SYN_SENT 1', 'CLOSE_WAIT->LAST_ACK 1', 'ESTABLISHED->CLOSE_WAIT 1', 'LAST_ACK->CLOSE 1', 'SYN_SENT->ESTABLISHED 1']);
	t.deepEqual(edges[6], ['ESTABLISHED->CLOSE_WAIT 1']);
	t.deepEqual(edges.filter((_, index) => ![1, 3, 6].includes(index)).flat(), []);
	t.deepEqual(documents.map(document => document.new.count), [0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
	t.is(documents[3]!.closes.count, 1);
});

test('-b on a replay: the last, partial interval gets a document when something happened in it, and only then', async t => {
	const quiet = await record(t, 'quiet.ndjson');
	const busy = script();
	busy.steps.push({at: startMs + 62_010, batch: batch({transitions: [change(4, startMs + 62_000, ESTABLISHED, CLOSE_WAIT, {ms: 61_000})]})});
	const active = await record(t, 'active.ndjson', busy);

	const ofQuiet = await replayBatch(['--replay', quiet, '-d', '10']);
	t.is(ofQuiet.code, 0);
	// Nothing happened after 60 s: the prints at 0, 10, ... 60.
	t.deepEqual(ofQuiet.documents.map(document => document.uptime_s), [0, 10, 20, 30, 40, 50, 60]);

	const ofActive = await replayBatch(['--replay', active, '-d', '10']);
	t.is(ofActive.code, 0);
	t.is(ofActive.stderr, '');
	t.deepEqual(ofActive.documents.map(document => document.uptime_s), [0, 10, 20, 30, 40, 50, 60, 65], 'and one at the end of the recording');
	const last = ofActive.documents.at(-1)!;
	t.is(last.interval_s, 5);
	t.deepEqual(last.transitions.map(({from, to, count}) => [from, to, count]), [['ESTABLISHED', 'CLOSE_WAIT', 1]]);
	t.like(last.connections.find(c => c.lport === psql.lport), {state: 'CLOSE_WAIT', state_s: 3, age_s: 64});
});

test('-b -n on a replay stops early; a filter selects the rows, the header stays the recorded host\'s', async t => {
	const path = await record(t, 'early.ndjson');
	const {code, stderr, documents} = await replayBatch(['--replay', path, '-n', '3', '-d', '5', 'dport', '=', ':5432']);
	t.is(code, 0);
	t.is(stderr, '');
	t.deepEqual(documents.map(document => document.uptime_s), [0, 5, 10]);
	const select = (row: {rport: number}) => row.rport === 5432;
	for (const [index, document] of documents.entries()) {
		const atMs = startMs + (index * 5000);
		t.deepEqual(shown(document), expectedRows(atMs, txBytesAt(atMs)).filter(row => select(row)));
		t.is(document.tracked, expectedRows(atMs, () => null).length, 'every connection is tracked');
	}

	t.is(documents[1]!.connections.length, 2, 'the TIME_WAIT and psql\'s connection');
});

test('-b text on a replay: the recorded host, its time and uptime, rates from the recorded passes', async t => {
	const path = await record(t, 'text.ndjson');
	const {code, stdout, stderr} = await run(['--replay', path, '--speed', '0', '-b', '-d', '5', '-n', '6'], {prefix: unprivileged});
	t.is(code, 0);
	t.is(stderr, '');
	const prints = stdout.split('\n\n').filter(print => print !== '');
	t.is(prints.length, 6);
	const lines = prints[5]!.split('\n');
	const time = new Date(Date.parse(started) + 25_000).toTimeString().slice(0, 8);
	t.is(lines[0], `tcptop - ${time} - ${host} - Linux ${kernel} - up 25s - every 5s`);
	t.is(lines[1], 'ESTAB 2 · TIME-WAIT 1 · LISTEN 1');
	t.regex(lines[2]!, /^tracked 4 · new 0\/s · closes 0\/s · failed 0\/s · resets 0\/s · transitions 0\/s · lost 0 · evicted 0$/);
	t.is(lines[3], 'transitions in 5.0s: none');
	// The two passes 1 s apart: 250,000 bytes acknowledged in that second, no retransmit.
	t.regex(lines.find(line => line.includes(':40000')) ?? '', /^\s+77 postgres\s+127\.0\.0\.1:5432\s+127\.0\.0\.1:40000\s+ESTAB\s+>25s\s+>25s\s+244K\s+24K\s+0\.25ms\s+1\s+0$/);
	t.regex(lines.find(line => line.includes(':41234')) ?? '', /^\s+4242 psql\s+127\.0\.0\.1:41234\s+127\.0\.0\.1:5432\s+ESTAB\s+24s\s+24s\s/);
});

test('-b on a recording cut short: the warning on stderr, what is there printed, exit 0', async t => {
	const recorded = script();
	delete recorded.endMs;
	const path = await record(t, 'cut.ndjson', recorded);
	// The last line (the batch at 30 s) loses its end.
	truncateSync(path, readFileSync(path).length - 20);
	const {code, stderr, documents} = await replayBatch(['--replay', path, '-d', '5']);
	t.is(code, 0);
	assertOneLineError(t, stderr, /cut\.ndjson, line 7, the last, is cut short \(the recording was interrupted\): replayed up to line 6\n/);
	// The recording now ends with the pass at 21 s: prints at 0 ... 20, then one for 20-21 s.
	t.deepEqual(documents.map(document => document.uptime_s), [0, 5, 10, 15, 20, 21]);
	t.is(documents.at(-1)!.connections.find(c => c.rport === leaked.rport)?.tx_bytes, 1_250_000);
	t.false(documents.some(document => document.states.CLOSE_WAIT !== undefined), 'the cut batch is not replayed');
});

test('tcptop --replay -b | head -1: exits 0 and quietly when the reader goes', async t => {
	const path = await record(t, 'head.ndjson');
	const shell = spawn('bash', ['-c', `${unprivileged.join(' ')} "$0" "$1" --replay "$2" --speed 0 -b -d 0.01 | head -1; echo "status \${PIPESTATUS[0]}" >&2`, process.execPath, tcptop, path]);
	const {code, stdout, stderr} = await finish(shell);
	t.is(code, 0);
	t.regex(stdout, new RegExp(`^tcptop - \\d\\d:\\d\\d:\\d\\d - ${host} - Linux ${kernel} - up 0ms - every 0\\.01s\\n$`));
	t.is(stderr, 'status 0\n', 'nothing from tcptop on stderr');
});

test('-b on a replay at a speed: prints at the recorded interval over the speed; SIGTERM ends it with 0; no addon loaded', async t => {
	const path = await record(t, 'paced.ndjson');
	const began = performance.now();
	const child = start(['--replay', path, '--speed', '4', '-b', '--json', '-d', '2'], {prefix: unprivileged});
	const finished = finish(child);
	const arrivals: number[] = [];
	child.stdout.on('data', () => {
		arrivals.push(performance.now() - began);
	});
	while (arrivals.length < 3) {
		await once(child.stdout, 'data');
	}

	const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
	t.true(maps.includes('node'), 'the maps of the replaying process');
	t.false(maps.includes('tcptop.node'), 'the native addon is not loaded');
	child.kill('SIGTERM');
	const {code, signal, stdout, stderr} = await finished;
	t.is(code, 0);
	t.is(signal, null);
	t.is(stderr, '');
	const documents = stdout.trim().split('\n').map(line => JSON.parse(line) as Document);
	t.deepEqual(documents.slice(0, 3).map(document => document.uptime_s), [0, 2, 4]);
	// 2 recorded seconds at 4x: half a second apart from the replay's start, so the third (at 4 s)
	// a second after it, never early.
	t.true(arrivals[2]! >= 1000, `arrivals ${arrivals.join(', ')}`);
	t.true(documents.length < 14, 'stopped before the end of the recording');
});

test('replay timers: between the events recorded before and after them, at the end those the clock reached, and a held replay waits', async t => {
	const path = join(recordingsFolder(t), 'timers.ndjson');
	await writeRecording(path, {
		startMs,
		steps: [100, 200, 300].map(offset => ({at: startMs + offset, batch: batch({transitions: [change(offset, startMs + offset, CLOSE, SYN_SENT)]})})),
		endMs: startMs + 350,
	});
	for (const speed of [0, 5]) {
		const replay = new ReplaySource(path, {speed});
		const seen: string[] = [];
		let release!: () => void;
		const timer = (name: string, atMs: number, hold = false) => replay.setTimer(startMs + atMs, () => {
			seen.push(`${name} at ${replay.now() - startMs}`);
			return hold ? new Promise<void>(resolve => {
				release = resolve;
			}) : undefined;
		});
		const ended = new Promise<void>((resolve, reject) => {
			replay.start({
				batch(batch) {
					seen.push(`batch ${batch.transitions[0]!.monoMs - startMs}`);
				},
				end() {
					seen.push('end');
					resolve();
				},
				error: reject,
			});
		});
		timer('b', 200);
		timer('a', 150, true);
		timer('c', 350);
		timer('never', 351);
		const cancelled = timer('cancelled', 250);
		cancelled();
		// Held by a: nothing more comes until it is released.
		while (release === undefined) {
			await new Promise(resolve => setImmediate(resolve));
		}

		await new Promise(resolve => setTimeout(resolve, 100));
		t.deepEqual(seen, ['batch 100', 'a at 150'], `speed ${speed}: held`);
		release();
		await ended;
		await replay.stop();
		t.deepEqual(seen, ['batch 100', 'a at 150', 'batch 200', 'b at 200', 'batch 300', 'c at 350', 'end'], `speed ${speed}`);
	}
});

testUsageErrors([
	[['--replay', 'a', '--metrics', '9464'], /--metrics cannot be used with --replay/],
	[['--replay', 'a', '--metrics', '9464', '-b'], /--metrics cannot be used with --replay/],
]);

test('--help says batch mode replays', async t => {
	const {stdout} = await run(['--help']);
	t.regex(stdout, /Recording and replay \(the live view, batch mode and trace\)/);
});
