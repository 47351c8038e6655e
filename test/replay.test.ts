// Recording and replay without the kernel: what the writer writes comes back exactly, paced by
// the speed, on the recording's clock; filters mean what the kernel's mean; damaged files give
// one clear line.
import {execFile, execFileSync, spawn} from 'node:child_process';
import {once} from 'node:events';
import {appendFileSync, chmodSync, existsSync, lstatSync, readFileSync, truncateSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {PassThrough, Writable} from 'node:stream';
import {promisify} from 'node:util';
import test, {type ExecutionContext} from 'ava';
import {FilteredSource} from '../src/capture/filtered-source.js';
import {RecordingSource} from '../src/capture/recording-source.js';
import {replayOrigin} from '../src/capture/origin.js';
import {ReplaySource} from '../src/capture/replay-source.js';
import type {SocketPass, TransitionBatch, TransitionSource} from '../src/core/source.js';
import {TcpState, type Transition} from '../src/core/transition.js';
import {runTrace} from '../src/output/trace.js';
import {finish, run, start, tcptop} from './helpers/cli.js';
import {batch, existing, recordingsFolder, unprivileged, writeRecording, type Script} from './helpers/recording.js';
import {assertOneLineError, testUsageErrors} from './helpers/usage-errors.js';

const execFileAsync = promisify(execFile);
const {CLOSE, SYN_SENT, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, LISTEN, SYN_RECV} = TcpState;
const startMs = 5_000_000.123_456;
const wallOffsetMs = 1_790_000_000_000.5;

function transition(fields: Partial<Transition> & {monoMs: number; oldstate: number; newstate: number}): Transition {
	return {
		wallMs: fields.monoMs + wallOffsetMs,
		sock: 0xAB_CDEF_0123_45,
		netns: 4_026_531_840,
		family: 4,
		laddr: '127.0.0.1',
		lport: 41_234,
		raddr: '127.0.0.1',
		rport: 5432,
		pid: 4242,
		tid: 4243,
		comm: 'psql',
		ms: null,
		...fields,
	};
}

/** A connect, its close, and a connection accepted on 5432, with the times the kernel would give. */
function lifecycle(sock: number, atMs: number, fields: Partial<Transition> = {}): Transition[] {
	const steps: Array<[number, number, number]> = [[CLOSE, SYN_SENT, 0], [SYN_SENT, ESTABLISHED, 0.412_345], [ESTABLISHED, FIN_WAIT1, 3021.337], [FIN_WAIT1, FIN_WAIT2, 0.051], [FIN_WAIT2, CLOSE, 0.02]];
	let monoMs = atMs;
	return steps.map(([oldstate, newstate, ms], index) => {
		monoMs += ms;
		return transition({sock, monoMs, oldstate, newstate, ms: index === 0 ? null : ms, lport: index === 0 ? 0 : 41_234, pid: index === 0 ? 4242 : 0, ...fields});
	});
}

const snapshot: SocketPass = {
	monoMs: startMs + 0.5,
	wallMs: startMs + 0.5 + wallOffsetMs,
	namespaces: [4_026_531_840],
	owners: true,
	complete: true,
	sockets: [
		existing({sock: 1, state: LISTEN, lport: 5432, raddr: '0.0.0.0', rport: 0, pid: 77, comm: 'postgres'}),
		existing({sock: 2, state: ESTABLISHED, family: 6, laddr: '::1', raddr: '::ffff:10.0.0.1', pid: 78, comm: 'evil\u001B]0;owned\u0007\u009B', figures: {bytesAcked: 2 ** 40, bytesReceived: 12, srttUs: 250, retransmits: 3}}),
		existing({sock: 3, state: TcpState.TIME_WAIT}),
	],
};

/** `lostCounters`: the batches report events lost, as trace then says on stderr at its end. */
function sampleScript(lostCounters = true): Script {
	// More transitions in one batch than fit on a line: the writer continues it on "more" lines.
	const big = Array.from({length: 4201}, (_, index) => lifecycle(1000 + index, startMs + 300 + index, {comm: `w${index % 7}`})).flat();
	return {
		startMs,
		snapshot,
		steps: [
			{at: startMs + 10.25, batch: batch({transitions: lifecycle(0x7FFF_FFFF_FFFF, startMs + 5, {comm: 'naïve 名前'})})},
			{at: startMs + 20, batch: batch({})},
			{
				at: startMs + 30,
				batch: batch({
					transitions: [transition({monoMs: startMs + 25, oldstate: LISTEN, newstate: SYN_RECV, lport: 5432, rport: 41_000, family: 6, laddr: '::1', raddr: '::1'})],
					resets: [{monoMs: startMs + 26, wallMs: startMs + 26 + wallOffsetMs, sock: 9, netns: 1, family: 4, laddr: '127.0.0.1', lport: 1, raddr: '127.0.0.1', rport: 2, pid: 0, comm: 'swapper/1', state: SYN_SENT, sent: false}],
					accepted: [{monoMs: startMs + 27, wallMs: startMs + 27 + wallOffsetMs, sock: 10, netns: 1, family: 6, laddr: '::1', lport: 5432, raddr: '::1', rport: 41_000, pid: 77, tid: 79, comm: 'postgres'}],
					dropped: lostCounters ? 3 : 0,
					lost: lostCounters ? 1 : 0,
				}),
			},
			{at: startMs + 40, pass: {...snapshot, monoMs: startMs + 39, owners: false}},
			{at: startMs + 50, batch: batch({transitions: big, dropped: lostCounters ? 5 : 0, lost: lostCounters ? 1 : 0})},
		],
		endMs: startMs + 60,
	};
}

type Delivered = Array<['snapshot' | 'pass', SocketPass] | ['batch', TransitionBatch] | ['end']>;

/** Replays `path` to its end, collecting what it delivers in order. */
async function replayAll(path: string, speed = 0, wantSnapshot = true): Promise<{delivered: Delivered; replay: ReplaySource; warnings: string[]}> {
	const warnings: string[] = [];
	const replay = new ReplaySource(path, {speed, warn: message => warnings.push(message)});
	const delivered: Delivered = [];
	await new Promise<void>((resolve, reject) => {
		replay.start({
			snapshot: wantSnapshot ? pass => delivered.push(['snapshot', pass]) : undefined,
			pass(pass) {
				delivered.push(['pass', pass]);
			},
			batch: batch => delivered.push(['batch', batch]),
			end() {
				delivered.push(['end']);
				resolve();
			},
			error: reject,
		});
	});
	await replay.stop();
	return {delivered, replay, warnings};
}

function expectedDelivery(script: Script): Delivered {
	return [
		['snapshot', script.snapshot!],
		...script.steps.map(step => ('batch' in step ? ['batch', step.batch] : ['pass', step.pass]) as Delivered[number]),
		['end'],
	];
}

test('a replay delivers exactly what was recorded: snapshot, passes, batches, every field', async t => {
	const folder = recordingsFolder(t);
	const path = join(folder, 'sample.ndjson');
	const script = sampleScript();
	await writeRecording(path, script);

	const lines = readFileSync(path, 'utf8').split('\n');
	t.like(JSON.parse(lines[0]!), {format: 'tcptop-recording', version: 1, monoStartMs: startMs});
	t.true(lines.filter(line => line.startsWith('{"type":"more"')).length >= 2, 'the big batch spans several lines');
	t.false(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/.test(readFileSync(path, 'utf8')), 'no control character reaches the file raw');

	const {delivered, replay, warnings} = await replayAll(path);
	t.deepEqual(delivered, expectedDelivery(script));
	t.deepEqual(warnings, []);
	t.is(replay.now(), startMs + 60, 'the clock stops at the end of the recording');
	t.true(replay.ended);
});

test('without a snapshot handler the snapshot is skipped; the rest comes', async t => {
	const path = join(recordingsFolder(t), 'sample.ndjson');
	const script = sampleScript();
	await writeRecording(path, script);
	const {delivered} = await replayAll(path, 0, false);
	t.deepEqual(delivered, expectedDelivery(script).slice(1));
});

test('the recorded pace, scaled by the speed, and a clock that follows the recording', async t => {
	const path = join(recordingsFolder(t), 'paced.ndjson');
	const first = lifecycle(1, startMs + 100);
	const second = lifecycle(2, startMs + 300);
	await writeRecording(path, {
		startMs,
		steps: [{at: startMs + 150, batch: batch({transitions: first})}, {at: startMs + 400, batch: batch({transitions: second})}],
		endMs: startMs + 500,
	});

	for (const speed of [1, 2.5]) {
		const replay = new ReplaySource(path, {speed});
		const began = performance.now();
		const arrivals: number[] = [];
		const clocks: number[] = [];
		await new Promise<void>((resolve, reject) => {
			replay.start({
				batch() {
					arrivals.push(performance.now() - began);
					clocks.push(replay.now());
				},
				end: resolve,
				error: reject,
			});
		});
		const ended = performance.now() - began;
		await replay.stop();
		// Never early; late only by what a busy machine adds.
		t.true(arrivals[0]! >= (150 / speed) - 2 && arrivals[1]! >= (400 / speed) - 2, `speed ${speed}: ${arrivals.join(', ')}`);
		t.true(ended >= (500 / speed) - 2, `speed ${speed}: ended after ${ended} ms`);
		t.deepEqual(clocks, [startMs + 150, startMs + 400], 'the clock reads each batch\'s recorded time as it arrives');
		t.is(replay.now(), startMs + 500);
	}
});

test('the clock runs at the replay\'s speed between batches, and never passes the next one', async t => {
	const path = join(recordingsFolder(t), 'clock.ndjson');
	await writeRecording(path, {startMs, steps: [{at: startMs + 60_000, batch: batch({transitions: lifecycle(1, startMs + 59_000)})}], endMs: startMs + 60_000});
	const replay = new ReplaySource(path, {speed: 100});
	const beforeStart = performance.now();
	replay.start({batch() {}, error() {}});
	const afterStart = performance.now();
	t.is(replay.now(), startMs);
	await delay(100);
	const before = performance.now();
	const reached = replay.now() - startMs;
	const after = performance.now();
	// 100 times the real time since the start, but not past the batch at 60 s.
	t.true(reached >= Math.min(60_000, (before - afterStart) * 100) && reached <= Math.min(60_000, (after - beforeStart) * 100), `reached ${reached} ms`);
	await replay.stop();
});

test('a gap longer than the longest timer (24.8 days) is slept in parts, not woken every millisecond', async t => {
	const path = join(recordingsFolder(t), 'gap.ndjson');
	const gapMs = 30 * 86_400_000;
	await writeRecording(path, {startMs, steps: [{at: startMs + gapMs, batch: batch({transitions: lifecycle(1, startMs + gapMs)})}], endMs: startMs + gapMs});
	const warnings: Error[] = [];
	const onWarning = (warning: Error) => {
		warnings.push(warning);
	};

	process.on('warning', onWarning);
	t.teardown(() => process.off('warning', onWarning));
	const replay = new ReplaySource(path, {speed: 1});
	let batches = 0;
	replay.start({
		batch() {
			batches++;
		},
		error() {},
	});
	// The replay's clock runs only while it waits for its next event: once it is 300 ms into
	// the gap, the replay has slept in it that long.
	for (let waited = 0; replay.now() - startMs < 300 && waited < 10_000; waited += 10) {
		await delay(10);
	}

	t.true(replay.now() - startMs >= 300, 'the replay waits in the gap');
	await replay.stop();
	t.is(batches, 0, 'the batch 30 days on has not come');
	// Node makes a longer timer 1 ms, with a TimeoutOverflowWarning each time: the replay would spin.
	t.deepEqual(warnings.map(warning => warning.name), []);
});

test('a fast replay is fast: a minute at 1000x takes well under the minute', async t => {
	const path = join(recordingsFolder(t), 'minute.ndjson');
	const steps = Array.from({length: 60}, (_, index) => ({at: startMs + (index * 1000), batch: batch({transitions: lifecycle(index, startMs + (index * 1000))})}));
	await writeRecording(path, {startMs, steps, endMs: startMs + 60_000});
	const began = performance.now();
	const {delivered} = await replayAll(path, 1000);
	const took = performance.now() - began;
	t.is(delivered.length, 61);
	t.true(took >= 58 && took < 20_000, `took ${took} ms`);
});

test('--speed 0 replays as fast as it reads, and lets timers run in between', async t => {
	const path = join(recordingsFolder(t), 'fast.ndjson');
	const steps = Array.from({length: 20_000}, (_, index) => ({at: startMs + (index * 1000), batch: batch({transitions: lifecycle(index, startMs + (index * 1000))})}));
	await writeRecording(path, {startMs, steps, endMs: startMs + 20_000_000});
	let ticks = 0;
	const timer = setInterval(() => {
		ticks++;
	}, 1);
	const began = performance.now();
	const {delivered} = await replayAll(path, 0);
	const took = performance.now() - began;
	clearInterval(timer);
	t.is(delivered.length, 20_001);
	t.true(took < 60_000, `five and a half hours of recording in ${took} ms`);
	// It reads for a slice at a time: timers run many times, not once at the end.
	t.true(ticks >= Math.min(5, took / 50), `${ticks} ticks in ${took} ms`);
});

test('a recording without its end line (tcptop was killed) replays whole, up to its last line', async t => {
	const path = join(recordingsFolder(t), 'killed.ndjson');
	const script = sampleScript();
	delete script.endMs;
	await writeRecording(path, script);
	const {delivered, replay, warnings} = await replayAll(path);
	t.deepEqual(delivered, expectedDelivery(script));
	t.deepEqual(warnings, []);
	t.is(replay.now(), startMs + 50, 'the clock stops at the last record');
});

test('a last line cut short: the whole lines replay, with one warning', async t => {
	const path = join(recordingsFolder(t), 'cut.ndjson');
	const script = sampleScript();
	delete script.endMs;
	script.steps.splice(4); // the big batch's lines would make the cut land in a "more" line
	await writeRecording(path, script);
	truncateSync(path, readFileSync(path).length - 30);
	const {delivered, warnings} = await replayAll(path);
	t.deepEqual(delivered, expectedDelivery(script).filter(([kind]) => kind !== 'pass'), 'all but the pass on the last line');
	t.is(warnings.length, 1);
	t.regex(warnings[0]!, /cut\.ndjson, line 6, the last, is cut short \(the recording was interrupted\): replayed up to line 5$/);
});

test('a record cut short in its continuation lines: the part that is there, with a warning', async t => {
	const path = join(recordingsFolder(t), 'cut-more.ndjson');
	const script = sampleScript();
	await writeRecording(path, script);
	const lines = readFileSync(path, 'utf8').split('\n');
	// Drop the last continuation line and the end line, as a kill between two writes would.
	writeFileSync(path, lines.slice(0, -3).join('\n') + '\n');
	const {delivered, warnings} = await replayAll(path);
	const last = delivered.at(-2)!;
	t.is(last[0], 'batch');
	const {transitions} = (last as ['batch', TransitionBatch])[1];
	t.is(transitions.length, 20_000);
	t.deepEqual(transitions, (script.steps.at(-1) as {batch: TransitionBatch}).batch.transitions.slice(0, 20_000));
	t.is(warnings.length, 1);
	t.regex(warnings[0]!, /ends in the middle of the record that starts on line 7/);
});

test('a line longer than the cap is refused without reading it whole', async t => {
	const path = join(recordingsFolder(t), 'huge.ndjson');
	await writeRecording(path, {startMs, steps: [{at: startMs + 1, batch: batch({})}]});
	// A sparse gigabyte of zeros with no newline: a reader without a cap would hold all of it.
	appendFileSync(path, '{"type":"batch",');
	truncateSync(path, 1024 ** 3);
	const before = process.resourceUsage().maxRSS;
	const error = await t.throwsAsync(replayAll(path));
	t.is(error?.message, `${path}, line 3: longer than 64 MiB, the most a recording line may be`);
	const grownMiB = (process.resourceUsage().maxRSS - before) / 1024;
	t.true(grownMiB < 400, `memory grew by ${grownMiB} MiB`);
});

test('trace filters on a replay: family, ports, namespace, and the pid as the kernel\'s socket owner', async t => {
	const path = join(recordingsFolder(t), 'filters.ndjson');
	const sock = 77;
	const transitions = [
		// A connect by 100; the changes in softirq (pid 0) and by another task (200) belong to it.
		...lifecycle(sock, startMs + 1, {pid: 0}).map((t, index) => (index === 0 ? {...t, pid: 100} : index === 2 ? {...t, pid: 200} : t)),
		// The same socket address, a new lifecycle by 300: 100's ownership ended with the close.
		...lifecycle(sock, startMs + 5000, {pid: 0}).map((t, index) => (index === 0 ? {...t, pid: 300} : t)),
		// After a change the kernel could not time (one was missed), the task on the CPU is the owner.
		transition({sock: 78, monoMs: startMs + 9000, oldstate: SYN_SENT, newstate: ESTABLISHED, pid: 100, ms: null}),
		transition({sock: 78, monoMs: startMs + 9001, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, pid: 0, ms: null}),
		transition({sock: 78, monoMs: startMs + 9002, oldstate: CLOSE_WAIT, newstate: LAST_ACK, pid: 0, ms: 1}),
		transition({sock: 79, monoMs: startMs + 9003, oldstate: CLOSE, newstate: SYN_SENT, pid: 100, family: 6, laddr: '::1', raddr: '::1', lport: 0, netns: 4_026_532_999}),
	];
	const resets = [
		{monoMs: startMs + 2, wallMs: 0, sock, netns: 1, family: 4 as const, laddr: '127.0.0.1', lport: 41_234, raddr: '127.0.0.1', rport: 5432, pid: 100, comm: 'a', state: ESTABLISHED, sent: true},
		{monoMs: startMs + 3, wallMs: 0, sock, netns: 1, family: 4 as const, laddr: '127.0.0.1', lport: 41_234, raddr: '127.0.0.1', rport: 5432, pid: 0, comm: 'b', state: ESTABLISHED, sent: false},
	];
	await writeRecording(path, {startMs, snapshot, steps: [{at: startMs + 9010, batch: batch({transitions, resets})}], endMs: startMs + 9020});

	const filtered = async (filter: Partial<ConstructorParameters<typeof FilteredSource>[1]>) => {
		const source = new FilteredSource(new ReplaySource(path, {speed: 0}), {family: 0, pid: 0, localPorts: [], remotePorts: [], ...filter});
		const got: {transitions: Transition[]; resets: unknown[]; sockets: number[]; namespaces: number[]} = {transitions: [], resets: [], sockets: [], namespaces: []};
		await new Promise<void>((resolve, reject) => {
			source.start({
				snapshot(pass) {
					got.sockets.push(...pass.sockets.map(socket => socket.sock));
					got.namespaces.push(...pass.namespaces);
				},
				batch(batch) {
					got.transitions.push(...batch.transitions);
					got.resets.push(...batch.resets);
				},
				end: resolve,
				error: reject,
			});
		});
		await source.stop();
		return got;
	};

	const byPid = await filtered({pid: 100});
	t.deepEqual(byPid.transitions, [...transitions.slice(0, 5), transitions[10]!, transitions[13]!]);
	t.deepEqual(byPid.resets, [resets[0]], 'a reset by the task on the CPU only');
	t.deepEqual(byPid.sockets, [1, 2, 3], 'sockets found by a walk have no task: the pid filter leaves them');
	t.deepEqual((await filtered({pid: 300})).transitions, transitions.slice(5, 10));
	t.deepEqual((await filtered({family: 6})).transitions, [transitions[13]]);
	t.deepEqual((await filtered({family: 6})).sockets, [2]);
	t.deepEqual((await filtered({localPorts: [0, 9]})).transitions, [transitions[0], transitions[5], transitions[13]], 'CLOSE -> SYN_SENT has local port 0');
	t.deepEqual((await filtered({localPorts: [41_234], remotePorts: [5432, 1]})).transitions.length, 11);
	t.deepEqual((await filtered({localPorts: [41_234], remotePorts: [1]})).transitions, []);
	const otherNamespace = await filtered({netns: 4_026_532_999});
	t.deepEqual(otherNamespace.transitions, [transitions[13]], '--netns keeps that namespace\'s changes');
	t.deepEqual([otherNamespace.resets, otherNamespace.sockets, otherNamespace.namespaces], [[], [], []], 'the walk did not cover it');
	const home = await filtered({netns: 4_026_531_840});
	t.is(home.transitions.length, 13);
	t.deepEqual([home.sockets, home.namespaces], [[1, 2, 3], [4_026_531_840]]);
});

test('trace on a replay waits for a reader that is behind, and then gives it everything', async t => {
	const path = join(recordingsFolder(t), 'stalled.ndjson');
	const steps = Array.from({length: 200}, (_, index) => ({
		at: startMs + (index * 1000),
		batch: batch({transitions: Array.from({length: 10}, () => lifecycle(index, startMs + (index * 1000))).flat()}),
	}));
	await writeRecording(path, {startMs, steps, endMs: startMs + 200_000});
	const replay = new ReplaySource(path, {speed: 0});
	let delivered = 0;
	const counting: TransitionSource = {
		start(handlers) {
			replay.start({
				...handlers,
				batch(batch) {
					delivered++;
					handlers.batch(batch);
				},
			});
		},
		stop: async () => replay.stop(),
	};
	// A reader that takes nothing until it is released.
	let stalled = true;
	const waiting: Array<() => void> = [];
	let text = '';
	const out = new Writable({
		highWaterMark: 4096,
		write(chunk: Buffer, _encoding, done) {
			text += chunk.toString();
			if (stalled) {
				waiting.push(() => {
					done();
				});
			} else {
				done();
			}
		},
	});
	const err = new PassThrough();
	const traced = runTrace(counting, {format: 'json', replay: replayOrigin(replay)}, out, err);
	// The reader is behind: the stream has turned a write away.
	for (let waited = 0; !out.writableNeedDrain && waited < 10_000; waited += 10) {
		await delay(10);
	}

	t.true(out.writableNeedDrain, 'the reader fell behind');
	// A replay at speed 0 delivers in slices, each after a turn of the event loop's timers
	// (a 0 ms timeout, like these): unheld, it would have delivered a batch at each of them.
	for (let turn = 0; turn < 20; turn++) {
		await delay(0);
	}

	t.true(delivered <= 2, `${delivered} of 200 batches taken while the reader is stalled`);
	stalled = false;
	for (const done of waiting.splice(0)) {
		done();
	}

	t.is(await traced, 0);
	t.is(delivered, 200);
	t.is(text.trim().split('\n').length, 200 * 50);
});

// The command line, as a user without privileges runs it.

async function replayCli(args: string[]) {
	return run(args, {prefix: unprivileged});
}

test('trace --replay --json, without privileges: the recorded transitions, in trace\'s format', async t => {
	const path = join(recordingsFolder(t), 'cli.ndjson');
	const script = sampleScript(false);
	await writeRecording(path, script);
	const {code, stdout, stderr} = await replayCli(['trace', '--replay', path, '--json', '--speed', '0']);
	t.is(code, 0);
	t.is(stderr, '');
	const lines = stdout.trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	const recorded = script.steps.flatMap(step => ('batch' in step ? step.batch.transitions : []));
	t.is(lines.length, recorded.length);
	t.deepEqual(lines[0], {
		time: new Date(recorded[0]!.wallMs).toISOString(), pid: 4242, tid: 4243, comm: 'naïve 名前', family: 4,
		laddr: '127.0.0.1', lport: 0, raddr: '127.0.0.1', rport: 5432, oldstate: 'CLOSE', newstate: 'SYN_SENT', ms: null, netns: 4_026_531_840,
	});
	t.like(lines[2], {oldstate: 'ESTABLISHED', newstate: 'FIN_WAIT1', ms: 3021.337, lport: 41_234, pid: 0});
	t.like(lines[5], {family: 6, laddr: '::1', oldstate: 'LISTEN', newstate: 'SYN_RECV'});
	t.like(lines.at(-1), {oldstate: 'FIN_WAIT2', newstate: 'CLOSE', comm: 'w0'});
});

test('trace --replay: text, escaped process names, filters, and the lost count at the end', async t => {
	const path = join(recordingsFolder(t), 'text.ndjson');
	await writeRecording(path, {
		startMs,
		steps: [{at: startMs + 10, batch: batch({
			transitions: [...lifecycle(1, startMs, {comm: 'x\u001B[2Jy'}), ...lifecycle(2, startMs + 1, {rport: 80})],
			dropped: 2,
			lost: 5,
		})}],
		endMs: startMs + 20,
	});
	const {code, stdout, stderr} = await replayCli(['trace', '--replay', path, '--speed', '0', '--rport', '5432']);
	t.is(code, 0);
	const [header, ...lines] = stdout.trim().split('\n');
	t.regex(header!, /^TIME\s+PID\s+COMM/);
	t.is(lines.length, 5);
	t.regex(lines[0]!, /^\d\d:\d\d:\d\d 4242\s+x\\x1b\[2Jy\s+127\.0\.0\.1\s+0\s+127\.0\.0\.1\s+5432\s+CLOSE\s+-> SYN_SENT\s+-$/);
	t.is(stderr, 'tcptop: 7 events lost (2 dropped by the kernel, buffer full; 5 lost by the perf buffer)\n');
});

test('tcptop trace --replay, recorded pace: takes as long as the recording, over --speed', async t => {
	const path = join(recordingsFolder(t), 'pace.ndjson');
	await writeRecording(path, {startMs, steps: [{at: startMs + 600, batch: batch({transitions: lifecycle(1, startMs + 500)})}], endMs: startMs + 600});
	const began = performance.now();
	const {code, stdout} = await replayCli(['trace', '--replay', path, '--json', '--speed', '0.5']);
	t.is(code, 0);
	t.is(stdout.trim().split('\n').length, 5);
	t.true(performance.now() - began >= 1200, 'half speed: 0.6 s of recording takes 1.2 s');
});

test('trace --replay reads a pipe (as from zcat) as well as a file', async t => {
	const path = join(recordingsFolder(t), 'piped.ndjson');
	const script = sampleScript(false);
	await writeRecording(path, script);
	const {stdout, stderr} = await execFileAsync('bash', ['-c', `"$0" "$1" trace --replay <(cat "$2") --json --speed 0`, process.execPath, tcptop, path], {maxBuffer: 64 * 1024 * 1024});
	t.is(stderr, '');
	t.is(stdout.trim().split('\n').length, script.steps.reduce((sum, step) => sum + ('batch' in step ? step.batch.transitions.length : 0), 0));
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
	test(`trace --replay stops on ${signal} mid-replay, exit 0`, async t => {
		const path = join(recordingsFolder(t), 'long.ndjson');
		await writeRecording(path, {startMs, steps: [{at: startMs + 60_000, batch: batch({transitions: lifecycle(1, startMs)})}], endMs: startMs + 60_000});
		const child = start(['trace', '--replay', path], {prefix: unprivileged});
		const finished = finish(child);
		await once(child.stdout, 'data');
		child.kill(signal);
		const {code, signal: killedBy, stdout, stderr} = await finished;
		t.is(code, 0);
		t.is(killedBy, null);
		t.regex(stdout, /^TIME\s+PID/);
		t.is(stderr, '');
	});
}

function damagedCase(name: string, damage: (lines: string[]) => string, pattern: RegExp, stdoutLines = 0) {
	test(`trace --replay of ${name}: one line, exit 1`, async t => {
		const path = join(recordingsFolder(t), 'damaged.ndjson');
		await writeRecording(path, sampleScript(false));
		writeFileSync(path, damage(readFileSync(path, 'utf8').split('\n')));
		const {code, stdout, stderr} = await replayCli(['trace', '--replay', path, '--json', '--speed', '0']);
		t.is(code, 1);
		assertOneLineError(t, stderr, pattern);
		t.is(stdout === '' ? 0 : stdout.trim().split('\n').length, stdoutLines, 'what came before the damage is replayed');
	});
}

damagedCase('a garbage line in the middle', lines => lines.map((line, index) => (index === 4 ? 'garbage\u001B[31m' : line)).join('\n'), /damaged\.ndjson, line 5: not JSON\n/, 5);
damagedCase('an item of the wrong type', lines => lines.map((line, index) => (index === 2 ? line.replace('"lport":0', '"lport":"0"') : line)).join('\n'), /line 3: transitions\[0\]\.lport is missing or not a port \(an integer from 0 to 65535\)\n/);
damagedCase('an unknown record', lines => lines.map((line, index) => (index === 3 ? '{"type":"\\u001b[31mred","at":1}' : line)).join('\n'), /line 4: not a record of a tcptop recording \(type '\\x1b\[31mred'\)\n/, 5);
damagedCase('two recordings joined', lines => [...lines.slice(0, -1), ...lines].join('\n'), /line 11: a second recording header \(recordings joined together\?\)\n/, 21_011);
damagedCase('a newer version', lines => [lines[0]!.replace('"version":1', '"version":2'), ...lines.slice(1)].join('\n'), /damaged\.ndjson is a version 2 tcptop recording; this tcptop reads version 1 \(a newer tcptop wrote it\)\n/);
damagedCase('a header without its clock', lines => [lines[0]!.replace(/"monoStartMs":[\d.]+/, '"monoStartMs":"soon"'), ...lines.slice(1)].join('\n'), /line 1: the header's monoStartMs is missing or not a number\n/);
damagedCase('a header whose start is not a date', lines => [lines[0]!.replace(/"started":"[^"]*"/, '"started":"yesterday"'), ...lines.slice(1)].join('\n'), /line 1: the header's started is not a date\n/);
damagedCase('a foreign JSON file', () => '{"format":"something else","version":1}\n', /damaged\.ndjson is not a tcptop recording \(its first line is not a recording header\)\n/);
damagedCase('a foreign binary file', () => '\u0000\u0001ELF'.repeat(50_000), /is not a tcptop recording/);
damagedCase('an empty file', () => '', /damaged\.ndjson is empty, not a tcptop recording\n/);

// Numbers out of their range: each is damage on its line. Lines of the sample: 1 header,
// 2 snapshot, 3-5 batches (3: a connect, 5: a reset and an accepted connection), 6 a pass.
const damagedNumbers: Array<[line: number, from: string | RegExp, to: string, message: RegExp]> = [
	[1, /"monoStartMs":[\d.]+/, '"monoStartMs":1e999', /line 1: the header's monoStartMs is not a finite number >= 0$/],
	[4, /"at":[\d.]+/, '"at":1e999', /line 4: its time \(at\) is missing or not a finite number$/],
	[4, /"at":[\d.]+/, `"at":${startMs - 5000}`, /line 4: its at is before the recording's start/],
	[4, /"at":[\d.]+/, `"at":${startMs + (366 * 86_400_000)}`, /line 4: its at is more than a year after the record before it$/],
	[3, '"newstate":2', '"newstate":1.5', /line 3: transitions\[0\]\.newstate is missing or not a TCP state \(an integer from 1 to 12\)$/],
	[3, '"oldstate":7', '"oldstate":300', /transitions\[0\]\.oldstate is missing or not a TCP state/],
	[3, '"oldstate":7', '"oldstate":0', /transitions\[0\]\.oldstate is missing or not a TCP state/],
	[3, '"lport":0', '"lport":65536', /transitions\[0\]\.lport is missing or not a port \(an integer from 0 to 65535\)$/],
	[3, '"rport":5432', '"rport":-1', /transitions\[0\]\.rport is missing or not a port/],
	[3, '"pid":4242', '"pid":4294967296', /transitions\[0\]\.pid is missing or not an integer from 0 to 4294967295$/],
	[3, '"tid":4243', '"tid":1.5', /transitions\[0\]\.tid is missing or not an integer from 0 to 4294967295$/],
	[3, '"netns":4026531840', '"netns":-1', /transitions\[0\]\.netns is missing/],
	[3, /"sock":\d+/, '"sock":281474976710656', /transitions\[0\]\.sock is missing or not an integer from 0 to 2\^48-1$/],
	[3, /"wallMs":[\d.]+/, '"wallMs":-1e999', /transitions\[0\]\.wallMs is missing or not a finite number$/],
	[3, '"ms":0.412345', '"ms":-1', /transitions\[1\]\.ms is missing or not a number >= 0 or null$/],
	[5, '"state":2', '"state":13', /line 5: resets\[0\]\.state is missing or not a TCP state/],
	[5, '"dropped":0', '"dropped":-1', /line 5: dropped is missing or not a count \(an integer from 0 to 2\^53-1\)$/],
	[5, '"lost":0', '"lost":1e999', /line 5: lost is missing or not a count/],
	[2, '"srttUs":250', '"srttUs":4294967296', /line 2: sockets\[1\]\.figures\.srttUs is missing or not an integer from 0 to 4294967295$/],
	[2, '"bytesAcked":1099511627776', '"bytesAcked":9007199254740992', /line 2: sockets\[1\]\.figures\.bytesAcked is missing or not a count/],
	[2, '"figures":null', '"figures":7', /line 2: sockets\[0\]\.figures is missing or not counters or null$/],
	[6, /"netns":4026531840/, '"netns":1.5', /line 6: netns is missing or not an integer from 0 to 4294967295$/],
	[6, /"monoMs":[\d.]+/, '"monoMs":1e999', /line 6: monoMs is missing or not a finite number$/],
];

test('numbers out of their range in a recording are damage, on their line', async t => {
	const folder = recordingsFolder(t);
	const path = join(folder, 'sample.ndjson');
	const script = sampleScript(false);
	script.steps.splice(4);
	await writeRecording(path, script);
	const lines = readFileSync(path, 'utf8').split('\n');
	for (const [[line, from, to, message], index] of damagedNumbers.map((damage, index) => [damage, index] as const)) {
		const damaged = join(folder, `damaged-${index}.ndjson`);
		const text = lines[line - 1]!;
		t.not(text.replace(from, to), text, `case ${index}: the sample has ${String(from)} on line ${line}`);
		writeFileSync(damaged, lines.map((other, at) => (at === line - 1 ? other.replace(from, to) : other)).join('\n'));
		const error = await t.throwsAsync(replayAll(damaged), undefined, `case ${index}: ${to}`);
		t.regex(error?.message ?? '', message, `case ${index}: ${to}`);
		t.true(error?.message.startsWith(`${damaged}, line ${line}: `), `case ${index}: ${error?.message}`);
	}
});

test('a record may hold at most 2,000,000 items, on at most 200 continuation lines', async t => {
	const folder = recordingsFolder(t);
	const path = join(folder, 'sample.ndjson');
	await writeRecording(path, {startMs, steps: [{at: startMs + 1, batch: batch({transitions: lifecycle(1, startMs)})}], endMs: startMs + 2});
	const [header, first, end] = readFileSync(path, 'utf8').split('\n');
	const more = (items: string) => `{"type":"more","transitions":[${items}],"resets":[],"accepted":[]}`;

	// More continuation lines announced than the largest record needs: refused before they are read.
	const announced = join(folder, 'announced.ndjson');
	writeFileSync(announced, [header, first!.replace('"more":0', '"more":201'), ...Array.from({length: 201}, () => more('')), end, ''].join('\n'));
	const tooLong = await t.throwsAsync(replayAll(announced));
	t.is(tooLong?.message, `${announced}, line 2: more is 201; a record may continue on at most 200 lines`);

	// Items past the cap are refused as soon as a line brings the record over it, before they are checked one by one.
	const crowded = join(folder, 'crowded.ndjson');
	writeFileSync(crowded, [header, first!.replace('"more":0', '"more":1'), more('0,'.repeat(2_000_000 - 5) + '0'), end, ''].join('\n'));
	const tooMany = await t.throwsAsync(replayAll(crowded));
	t.is(tooMany?.message, `${crowded}, line 3: the record that starts on line 2 has more than 2,000,000 items, the most a replay takes`);

	// Up to the cap, the same shape replays.
	const full = join(folder, 'full.ndjson');
	writeFileSync(full, [header, first!.replace('"more":0', '"more":200'), ...Array.from({length: 200}, () => more('')), end, ''].join('\n'));
	const {delivered} = await replayAll(full);
	t.is(delivered.length, 2);
});

test('trace and -b on a recording whose time is infinite: one line, exit 1, not a replay without end', async t => {
	const path = join(recordingsFolder(t), 'forever.ndjson');
	await writeRecording(path, sampleScript(false));
	const lines = readFileSync(path, 'utf8').split('\n');
	writeFileSync(path, lines.map((line, index) => (index === 3 ? line.replace(/"at":[\d.]+/, '"at":1e999') : line)).join('\n'));
	const {code, stdout, stderr} = await replayCli(['--replay', path, '--speed', '0', '-b', '--json', '-n', '100']);
	t.is(code, 1);
	assertOneLineError(t, stderr, /forever\.ndjson, line 4: its time \(at\) is missing or not a finite number\n/);
	t.true(stdout.trim().split('\n').length < 100, 'stopped at the damage');
});

test('trace --replay of a file with its last line cut short: a warning, the rest replayed, exit 0', async t => {
	const path = join(recordingsFolder(t), 'cut.ndjson');
	const script = sampleScript();
	delete script.endMs;
	script.steps.splice(1);
	await writeRecording(path, script);
	truncateSync(path, readFileSync(path).length - 2);
	const {code, stdout, stderr} = await replayCli(['trace', '--replay', path, '--json', '--speed', '0']);
	t.is(code, 0);
	t.is(stdout, '');
	assertOneLineError(t, stderr, /cut\.ndjson, line 3, the last, is cut short \(the recording was interrupted\): replayed up to line 2\n/);
});

test('trace --replay of a huge line: one line, exit 1', async t => {
	const path = join(recordingsFolder(t), 'huge.ndjson');
	await writeRecording(path, {startMs, steps: []});
	truncateSync(path, 512 * 1024 ** 2);
	const {code, stderr} = await replayCli(['trace', '--replay', path, '--speed', '0']);
	t.is(code, 1);
	assertOneLineError(t, stderr, /huge\.ndjson, line 2: longer than 64 MiB, the most a recording line may be\n/);
});

for (const args of [['trace'], []]) {
	test(`tcptop ${args.join(' ')} --replay of a missing file: one line, exit 1`, async t => {
		const {code, stdout, stderr} = await replayCli([...args, '--replay', '/nonexistent/recording.ndjson']);
		t.is(code, 1);
		t.is(stdout, '');
		assertOneLineError(t, stderr, /cannot read the recording \/nonexistent\/recording\.ndjson: no such file or directory\n/);
	});
}

test('--record to a folder that does not exist: one line, exit 1, before anything is captured', async t => {
	const {code, stdout, stderr} = await run(['trace', '--record', '/nonexistent/recording.ndjson']);
	t.is(code, 1);
	t.is(stdout, '');
	assertOneLineError(t, stderr, /cannot write the recording \/nonexistent\/recording\.ndjson: no such file or directory\n/);
});

test('--record over an earlier recording replaces it whole once the capture has started', async t => {
	const path = join(recordingsFolder(t), 'again.ndjson');
	await writeRecording(path, sampleScript());
	const script: Script = {startMs, snapshot, steps: [{at: startMs + 1, batch: batch({})}], endMs: startMs + 2};
	await writeRecording(path, script);
	const {delivered} = await replayAll(path);
	t.deepEqual(delivered, expectedDelivery(script));
});

test('--record, stopped while the capture is prepared (a signal at start): an earlier recording is left whole, a new file is not left behind', async t => {
	const folder = recordingsFolder(t);
	const earlier = join(folder, 'kept.tcptop');
	await writeRecording(earlier, sampleScript());
	const content = readFileSync(earlier, 'utf8');
	const fresh = join(folder, 'never.tcptop');
	for (const path of [earlier, fresh]) {
		let prepared = false;
		const inner: TransitionSource = {
			async prepare() {
				await Promise.resolve();
				prepared = true;
			},
			start() {
				t.fail('not started');
			},
			stop: async () => Promise.resolve(),
		};
		const recording = new RecordingSource(inner, path);
		await recording.prepare();
		t.true(prepared);
		await recording.stop();
	}

	t.is(readFileSync(earlier, 'utf8'), content);
	t.false(existsSync(fresh));
});

/** A folder anyone may write in: a failed start could remove what is in it. */
function writableFolder(t: ExecutionContext): string {
	const folder = recordingsFolder(t);
	chmodSync(folder, 0o777);
	return folder;
}

const noPrivileges = /run as root, or grant CAP_BPF and CAP_PERFMON/;

test('--record when the capture cannot start: an earlier recording is left whole, a new file is not left behind', async t => {
	const folder = writableFolder(t);
	const earlier = join(folder, 'db.tcptop');
	const script = sampleScript(false);
	script.steps.splice(4);
	await writeRecording(earlier, script);
	chmodSync(earlier, 0o666);
	const content = readFileSync(earlier, 'utf8');
	const fresh = join(folder, 'new.tcptop');
	for (const path of [earlier, fresh]) {
		const {code, stdout, stderr} = await run(['trace', '--record', path], {prefix: unprivileged});
		t.is(code, 1);
		t.is(stdout, '');
		assertOneLineError(t, stderr, noPrivileges);
	}

	t.is(readFileSync(earlier, 'utf8'), content);
	t.false(existsSync(fresh));
});

test('--record to a pipe when the capture cannot start: nothing written, the pipe not removed, the real error', async t => {
	const fifo = join(writableFolder(t), 'fifo');
	execFileSync('mkfifo', ['-m', '666', fifo]);
	const reader = spawn('cat', [fifo]);
	let read = '';
	reader.stdout.setEncoding('utf8').on('data', (chunk: string) => {
		read += chunk;
	});
	const readerDone = once(reader, 'close');
	const {code, stderr} = await run(['trace', '--record', fifo], {prefix: unprivileged});
	await readerDone;
	t.is(code, 1);
	assertOneLineError(t, stderr, noPrivileges);
	t.true(existsSync(fifo) && lstatSync(fifo).isFIFO(), 'the pipe is still there');
	t.is(read, '');

	// A shell's >(...): a /dev/fd/N that cannot be removed. The error is still the real one.
	const [command, ...args] = [...unprivileged, 'bash', '-c', '"$0" "$1" trace --record >(cat)', process.execPath, tcptop];
	const substituted = await finish(spawn(command, args));
	t.is(substituted.code, 1);
	t.is(substituted.stdout, '', 'nothing written to the pipe');
	assertOneLineError(t, substituted.stderr, noPrivileges);
});

testUsageErrors([
	[['trace', '--record', 'a', '--replay', 'b'], /--record cannot be used with --replay/],
	[['trace', '--events', '--replay', 'b'], /--events cannot be used with --replay/],
	[['--record', 'a', '--replay', 'b'], /--record cannot be used with --replay/],
	[['trace', '--replay', 'b', '--transport', 'perf'], /--transport cannot be used with --replay/],
	[['trace', '--speed', '2'], /--speed is for --replay/],
	[['trace', '--replay', 'b', '--speed=-1'], /--speed: '-1' is not 0 or a number from 0\.001 to 1,000,000/],
	[['trace', '--replay', 'b', '--speed', 'fast'], /--speed: 'fast' is not 0 or a number from 0\.001 to 1,000,000/],
	[['trace', '--replay', 'b', '--speed', '1e-9'], /--speed: '1e-9' is not 0 or a number from 0\.001 to 1,000,000/],
	[['--replay', 'b', '--speed', '2e6'], /--speed: '2e6' is not 0 or a number from 0\.001 to 1,000,000/],
	[['trace', '--replay'], /--replay/],
]);

test('--help describes recording and replay', async t => {
	const {stdout} = await run(['--help']);
	for (const option of ['--record FILE', '--replay FILE', '--speed X']) {
		t.true(stdout.includes(option), option);
	}
});
