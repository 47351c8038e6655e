// The observer effect of tcptop's capture: how much of its connection rate a host keeps
// while tcptop traces it. The load generator (loadgen.c) churns loopback connections; each
// round runs it untraced, then traced, back to back, so both see the same machine.
//
// Tracers:
//   ringbuf, perf  the capture pipeline in this process, as `tcptop trace` runs it: every
//                  event decoded in JS and counted
//   ringbuf+passes the same with a socket pass every second (each socket's counters; every
//                  fifth pass complete, with owners), decoded and counted: what the live view,
//                  batch mode and metrics run
//   ringbuf+passes+accept
//                  and accept() traced for accepted connections' owners (--accept-owners)
//   trace-json     `tcptop trace --json > /dev/null`, a separate process
//   batch          `tcptop -b -d 1 --json > FILE`, a separate process; lost is its last document's
//   view           the whole product: `tcptop` (the live view, default options) in a 120x40
//                  tmux pane; lost is the header's `lost N` read from the screen at the end
//
// Usage: node --import=tsx bench/capture-overhead.ts [--seconds S] [--rounds N] [--tracer T]... [--workload W]...
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {existsSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {KernelSource} from '../src/capture/kernel-source.js';
import type {SocketPass} from '../src/core/source.js';
import {TcpState} from '../src/core/transition.js';
import {attached, bpfLinksOf} from '../test/helpers/cli.js';
import {terminal} from '../test/helpers/tmux.js';

const {values} = parseArgs({
	options: {
		seconds: {type: 'string', default: '3'},
		rounds: {type: 'string', default: '3'},
		tracer: {type: 'string', multiple: true},
		workload: {type: 'string', multiple: true},
		loadgen: {type: 'string', default: '/tmp/tcptop-loadgen'},
	},
});

const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const tracers = values.tracer ?? ['ringbuf', 'ringbuf+passes', 'ringbuf+passes+accept', 'perf', 'trace-json', 'batch', 'view'];
const workloads = values.workload ?? ['single/graceful', 'single/reset', 'threads/graceful', 'threads/reset'];
const tcptop = fileURLToPath(new URL('../bin/tcptop', import.meta.url));

type LoadResult = {port: number; connections: number; seconds: number};

/** Runs the load generator; `onPort` runs as soon as its listener is up. */
async function load(workload: string, onPort: (port: number) => void = () => {}): Promise<LoadResult> {
	const [mode, variant] = workload.split('/');
	const child = spawn(values.loadgen, [mode!, variant!, String(seconds)], {stdio: ['ignore', 'pipe', 'inherit']});
	let output = '';
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
		if (output === '') {
			onPort(Number.parseInt(chunk, 10));
		}

		output += chunk;
	});
	const [code] = await once(child, 'exit') as [number];
	if (code !== 0) {
		throw new Error(`loadgen exited with ${code}`);
	}

	return JSON.parse(output.trim().split('\n').at(-1)!) as LoadResult;
}

type Traced = {rate: number; expected: number; received: number | undefined; lost: number};

// The load generator's last connections can finish closing a while after it exits; the
// tracer waits this long before stopping, so their changes are counted.
const settleMs = 1000;
const perConnection = (workload: string) => (workload.endsWith('graceful') ? 10 : (workload.endsWith('refused') ? 2 : 6));
const isListenerEvent = (oldstate: number, newstate: number) =>
	(oldstate === TcpState.CLOSE && newstate === TcpState.LISTEN) || (oldstate === TcpState.LISTEN && newstate === TcpState.CLOSE);

let passes = 0;
let passSockets = 0;

async function tracedInProcess(workload: string, tracer: string): Promise<Traced> {
	// Events by port: under load a batch can be handled before the load generator's port is
	// read from its output, so the count is taken for its port at the end.
	const byPort = new Map<number, number>();
	const countFor = (port: number) => byPort.set(port, (byPort.get(port) ?? 0) + 1);
	let lost = 0;
	const withPasses = tracer.includes('+passes');
	const source = new KernelSource({
		transport: tracer.startsWith('perf') ? 'perf' : 'ringbuf',
		acceptOwners: tracer.includes('+accept'),
		passIntervalMs: withPasses ? 1000 : 0,
	});
	source.start({
		...(withPasses ? {pass(pass: SocketPass) {
			passes++;
			passSockets += pass.sockets.length;
		}} : {}),
		batch(batch) {
			for (const t of batch.transitions) {
				if (!isListenerEvent(t.oldstate, t.newstate)) {
					countFor(t.lport);
					if (t.rport !== t.lport) {
						countFor(t.rport);
					}
				}
			}

			lost = batch.dropped + batch.lost;
		},
		error(error) {
			throw error;
		},
	});
	let port = -1;
	const result = await load(workload, p => {
		port = p;
	});
	await delay(settleMs);
	await source.stop();
	return {rate: result.connections / result.seconds, expected: result.connections * perConnection(workload), received: byPort.get(port) ?? 0, lost};
}

/** `tcptop -b -d 1 --json` into a file; lost is the last document's. */
async function tracedByBatch(workload: string): Promise<Traced> {
	const folder = mkdtempSync(join(tmpdir(), 'tcptop-overhead-'));
	const path = join(folder, 'batch.ndjson');
	const child = spawn(process.execPath, [tcptop, '-b', '-d', '1', '--json'], {stdio: ['ignore', openSync(path, 'w'), 'inherit']});
	try {
		await attached(child as never);
		const result = await load(workload);
		await delay(settleMs);
		child.kill('SIGINT');
		await once(child, 'exit');
		const last = readFileSync(path, 'utf8').trim().split('\n').at(-1)!;
		const lost = Number(/"lost":(\d+)/.exec(last)?.[1] ?? Number.NaN);
		return {rate: result.connections / result.seconds, expected: result.connections * perConnection(workload), received: undefined, lost};
	} finally {
		rmSync(folder, {recursive: true, force: true});
	}
}

async function tracedByCommand(workload: string): Promise<Traced> {
	const child = spawn(process.execPath, [tcptop, 'trace', '--json'], {stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe']});
	let stderr = '';
	child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
		stderr += chunk;
	});
	await attached(child as never);
	const result = await load(workload);
	await delay(settleMs);
	child.kill('SIGINT');
	await once(child, 'exit');
	const lost = Number(/tcptop: (\d+) events lost/.exec(stderr)?.[1] ?? 0);
	return {rate: result.connections / result.seconds, expected: result.connections * perConnection(workload), received: undefined, lost};
}

async function tracedByView(workload: string): Promise<Traced> {
	const {tmux, screen, until, session} = terminal(`overhead-${process.pid}`);
	let quit = false;
	try {
		tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', `exec env NODE_ENV=production ${process.execPath} ${tcptop}`);
		const pid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
		await until('the first frame', () => (screen().includes('Sort: ') ? true : undefined));
		await until('the programs to attach', () => (bpfLinksOf(pid).length > 0 ? true : undefined));
		const result = await load(workload);
		await delay(settleMs);
		// The header's count, unless the line was cut at the pane's width; then the Transitions pane's.
		const frame = screen();
		const lost = (/ · lost ([\d,]+)(?: ·|$)/m.exec(frame) ?? /lost events[\s│]+([\d,]+)/.exec(frame))?.[1];
		if (lost === undefined) {
			throw new Error(`no "lost N" on the view's screen:\n${frame}`);
		}

		tmux('send-keys', '-t', session, 'q');
		// The pane, its session and the tmux server end with tcptop.
		await until('tcptop to quit', () => (existsSync(`/proc/${pid}`) ? undefined : true));
		quit = true;
		return {rate: result.connections / result.seconds, expected: result.connections * perConnection(workload), received: undefined, lost: Number(lost.replaceAll(',', ''))};
	} finally {
		if (!quit) {
			tmux('kill-server');
		}
	}
}

const rows: string[][] = [['workload', 'tracer', 'untraced conn/s', 'traced conn/s', 'ratio', 'events expected', 'received', 'lost']];
for (const workload of workloads) {
	for (const tracer of tracers) {
		let untraced = 0;
		let traced = 0;
		let expected = 0;
		let received: number | undefined = 0;
		let lost = 0;
		for (let round = 0; round < rounds; round++) {
			const plain = await load(workload);
			untraced += plain.connections / plain.seconds;
			const run = tracer === 'trace-json'
				? await tracedByCommand(workload)
				: (tracer === 'batch' ? await tracedByBatch(workload) : (tracer === 'view' ? await tracedByView(workload) : await tracedInProcess(workload, tracer)));
			traced += run.rate;
			expected += run.expected;
			received = run.received === undefined ? undefined : received! + run.received;
			lost += run.lost;
		}

		const row = [workload, tracer, (untraced / rounds).toFixed(0), (traced / rounds).toFixed(0), (traced / untraced).toFixed(3), String(expected), received === undefined ? 'n/a' : String(received), String(lost)];
		rows.push(row);
		console.error(row.join('  '));
	}
}

if (passes > 0) {
	console.log(`passes: ${passes}, ${(passSockets / passes).toFixed(0)} sockets a pass on average`);
}

const widths = rows[0]!.map((_, column) => Math.max(...rows.map(row => row[column]!.length)));
for (const row of rows) {
	console.log(row.map((cell, column) => cell.padStart(widths[column]!)).join('  '));
}
