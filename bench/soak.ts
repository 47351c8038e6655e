// Long-running modes under sustained load, and on a big idle host: does tcptop keep its pace,
// lose nothing, and hold its memory flat? Each mode runs once per tree (this one, and with
// --baseline another built checkout, side by side under the same load), as a user runs it:
//
//   view     `tcptop` in a 200x50 tmux pane: the longest time the header's uptime stood still
//            (a frame not drawn), `lost N` read off the screen at the end, and every 3 s the
//            time from a key to the screen showing it (? opens help, the next key closes it)
//   batch    `tcptop -b -d 1 --json`: the longest interval between two documents, their lost
//   metrics  `tcptop --metrics PORT`: a scrape every second with a 10 s timeout, the slowest
//            answer and how many timed out, lost from tcptop_events_lost_total
//
// For each: resident memory 10 s into the load, its highest and at the end of the load, and
// the CPU share in the seconds after the load (back to idle?). The load generator (loadgen.c)
// runs VARIANT (single/graceful is an HTTP server closing idle keep-alives: TIME_WAIT piles up
// on the listener's port) in back-to-back runs for --seconds.
//
// With --hold N, N established loopback sockets are held meanwhile (N/2 connections, by
// processes of bench/hold-connections.ts, at most 8,000 connections each) and the idle phase
// measures the view's CPU share and memory with no load, `-b -n 1 --json` against `ss -tan`
// (time and peak memory, side by side, 3 runs each), and key to screen over 20 keys.
//
// Needs root and the load generator: bash bench/run.sh builds both (or cc -O2 -pthread
// bench/loadgen.c -o /tmp/tcptop-loadgen).
//
//   node --import=tsx bench/soak.ts [--seconds 120] [--variant single/graceful]... [--mode view|batch|metrics]... [--hold N] [--idle-only] [--baseline DIR] [--view-args='--group-by service']
import {execFileSync, spawn} from 'node:child_process';
import {once} from 'node:events';
import {closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import http from 'node:http';
import {createInterface} from 'node:readline';
import {setTimeout as delay} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {terminal, type Terminal} from '../test/helpers/tmux.js';
import {holdSockets, median} from './held-sockets.js';

const {values} = parseArgs({
	options: {
		seconds: {type: 'string', default: '120'},
		variant: {type: 'string', multiple: true},
		mode: {type: 'string', multiple: true},
		hold: {type: 'string', default: '0'},
		'idle-only': {type: 'boolean', default: false},
		baseline: {type: 'string'},
		loadgen: {type: 'string', default: '/tmp/tcptop-loadgen'},
		// Arguments for this tree's view only (`--group-by service`: a grouped view against the baseline's list).
		'view-args': {type: 'string', default: ''},
	},
});

const seconds = Number(values.seconds);
const variants = values.variant ?? ['single/graceful', 'single/reset', 'threads/graceful', 'threads/reset'];
const modes = values.mode ?? ['view', 'batch', 'metrics'];
const here = fileURLToPath(new URL('..', import.meta.url));
const trees: Array<[string, string]> = [['tcptop', here], ...(values.baseline ? [['baseline', values.baseline] as [string, string]] : [])];
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}));

function binary(tree: string): string {
	return `${tree}/bin/tcptop`;
}

/** Resident memory of a process, in MiB. */
function rssMiB(pid: number): number {
	const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	return Number(match?.[1] ?? 0) / 1024;
}

/** CPU seconds a process has used so far. */
function cpuSeconds(pid: number): number {
	const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
	return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** Back-to-back runs of the load generator for `forSeconds`; resolves with connections per second. */
async function loadFor(variant: string, forSeconds: number): Promise<number> {
	const [mode, close] = variant.split('/');
	const endAt = performance.now() + (forSeconds * 1000);
	let connections = 0;
	let spent = 0;
	while (performance.now() < endAt) {
		const runSeconds = Math.min(10, (endAt - performance.now()) / 1000);
		if (runSeconds < 0.5) {
			break;
		}

		const child = spawn(values.loadgen, [mode!, close!, runSeconds.toFixed(1)], {stdio: ['ignore', 'pipe', 'inherit']});
		let output = '';
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
			output += chunk;
		});
		await once(child, 'exit');
		const result = JSON.parse(output.trim().split('\n').at(-1)!) as {connections: number; seconds: number};
		connections += result.connections;
		spent += result.seconds;
	}

	return connections / spent;
}

type Sampler = {
	/** Called once a second during the load, with the seconds since it began. */
	sample?(second: number): void;
	/** The longest stall (s), what was lost, and mode-specific notes, once the load is over. */
	finish(): Promise<{stall: number; lost: number; notes: string}>;
};

/** Runs a started tcptop (process pid) through the load; prints one row. */
async function soak(label: string, variant: string, pid: number, sampler: Sampler): Promise<void> {
	await delay(3000);
	const rss: number[] = [];
	let second = 0;
	const ticker = setInterval(() => {
		second++;
		rss.push(rssMiB(pid));
		sampler.sample?.(second);
	}, 1000);
	const rate = await loadFor(variant, seconds);
	clearInterval(ticker);
	await delay(2000); // the last changes arrive, a print or frame after them
	const idleFrom = cpuSeconds(pid);
	await delay(3000);
	const idleShare = (cpuSeconds(pid) - idleFrom) / 3;
	const {stall, lost, notes} = await sampler.finish();
	console.log([
		label.padEnd(18), variant.padEnd(17), `${Math.round(rate).toLocaleString('en')} conn/s`.padStart(14),
		`longest stall ${stall.toFixed(1)} s`.padStart(20), `lost ${lost.toLocaleString('en')}`.padStart(14),
		`RSS 10s/max/end ${Math.round(rss[9] ?? 0)}/${Math.round(Math.max(...rss))}/${Math.round(rss.at(-1) ?? 0)} MiB`,
		`after ${(100 * idleShare).toFixed(1)}% CPU`, notes,
	].join('  '));
}

/** Runs `body` with tcptop's view in a 200x50 tmux pane (pid: the view's process), then quits it. */
async function inView(name: string, tree: string, body: (pid: number, view: Terminal) => Promise<void>): Promise<void> {
	const view = terminal(name);
	const {tmux, session} = view;
	const extra = tree === here ? ` ${values['view-args']}` : '';
	tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', `exec env -u CI NODE_ENV=production ${process.execPath} ${binary(tree)}${extra}`);
	const pid = Number(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
	try {
		await body(pid, view);
		tmux('send-keys', '-t', session, 'q');
		await delay(500);
	} finally {
		try {
			tmux('kill-server');
		} catch {
			// The server had already gone with its last session.
		}

		await gone(pid, `${name} view`);
	}
}

/** Resolves once process pid has exited (so that the next run has the machine to itself); says so if it took over a second. */
async function gone(pid: number, what: string): Promise<void> {
	const started = performance.now();
	// Exited once it is a zombie too (tmux reaps its pane's process when it gets to it).
	const running = () => {
		try {
			return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
		} catch {
			return false;
		}
	};

	while (running() && performance.now() - started < 30_000) {
		await delay(50);
	}

	const seconds = (performance.now() - started) / 1000;
	if (seconds > 1) {
		console.log(`(${what} took ${seconds.toFixed(1)} s to exit after it was told to${running() ? ', and still runs' : ''})`);
	}
}

/**
 * Milliseconds from a key to the screen showing what it does: `?` opens the help screen and
 * the next key closes it (two timings). The screen is read every 2 ms; 5 s at most.
 */
async function keysToScreen({tmux, session, screen}: Terminal): Promise<number[]> {
	const timings: number[] = [];
	for (const opens of [true, false]) {
		const started = performance.now();
		tmux('send-keys', '-t', session, opens ? '?' : 'x');
		while (screen().includes('Keys (any key returns)') !== opens && performance.now() - started < 5000) {
			await delay(2);
		}

		timings.push(performance.now() - started);
	}

	return timings;
}

/** Median and 95th percentile, in ms. */
function keyFigures(timings: number[]): string {
	const sorted = [...timings].sort((a, b) => a - b);
	return `key to screen median ${median(sorted).toFixed(0)} ms, p95 ${sorted[Math.ceil(sorted.length * 0.95) - 1]!.toFixed(0)} ms (${sorted.length} keys)`;
}

async function viewSoak(name: string, tree: string, variant: string): Promise<void> {
	await inView(`soak-${name}`, tree, async (pid, view) => {
		const {screen} = view;
		const keys: number[] = [];
		let pressing: Promise<void> | undefined;
		let lastUp = '';
		let lastChangeMs = performance.now();
		let stall = 0;
		const watch = setInterval(() => {
			const up = /up (\S+)/.exec(screen())?.[1] ?? '';
			const now = performance.now();
			if (up !== lastUp) {
				lastUp = up;
				lastChangeMs = now;
			}

			stall = Math.max(stall, (now - lastChangeMs) / 1000);
		}, 100);
		await soak(`${name} view`, variant, pid, {
			sample(second) {
				if (second % 3 === 0 && pressing === undefined) {
					pressing = keysToScreen(view).then(timings => {
						keys.push(...timings);
						pressing = undefined;
					});
				}
			},
			async finish() {
				clearInterval(watch);
				await pressing;
				const lost = Number((/lost ([\d,]+)/.exec(screen())?.[1] ?? '-1').replaceAll(',', ''));
				return {stall, lost, notes: keyFigures(keys)};
			},
		});
	});
}

async function batchSoak(name: string, tree: string, variant: string): Promise<void> {
	// To a file, read afterwards: a document lists every connection (megabytes a second under
	// this load), and a reader on this 2-core machine would take the CPU tcptop is measured on.
	const path = join(mkdtempSync(join(tmpdir(), 'tcptop-soak-')), 'batch.ndjson');
	const output = openSync(path, 'w');
	const child = spawn(process.execPath, [binary(tree), '-b', '-d', '1', '--json'], {stdio: ['ignore', output, 'inherit']});
	const startedMs = performance.now();
	closeSync(output);
	try {
		await soak(`${name} -b -d 1`, variant, child.pid!, {
			async finish() {
				const runSeconds = (performance.now() - startedMs) / 1000;
				const documents: Array<{uptime: number; interval: number; lost: number}> = [];
				for await (const line of createInterface({input: createReadStream(path)})) {
					// Only the figures: the rest is every connection.
					const figure = (name: string) => Number(new RegExp(`"${name}":([\\d.]+)`).exec(line)?.[1]);
					if (line.endsWith('}')) { // not one still being written
						documents.push({uptime: figure('uptime_s'), interval: figure('interval_s'), lost: figure('lost')});
					}
				}

				// A print that never came counts too: from the last one to now.
				const stall = Math.max(...documents.slice(1).map(d => d.interval), runSeconds - (documents.at(-1)?.uptime ?? 0));
				// When events were lost: the prints at which the count grew.
				const losing = documents.filter((d, index) => index > 0 && d.lost > documents[index - 1]!.lost);
				const when = losing.length === 0 ? '' : `, lost between ${losing[0]!.uptime.toFixed(0)} s and ${losing.at(-1)!.uptime.toFixed(0)} s of uptime (${losing.length} prints)`;
				return {stall, lost: documents.at(-1)?.lost ?? -1, notes: `${documents.length} documents${when}`};
			},
		});
	} finally {
		child.kill('SIGTERM');
		await once(child, 'close');
		rmSync(dirname(path), {recursive: true, force: true});
	}
}

/** A scrape's time in seconds, or Infinity when it timed out (10 s). */
async function scrape(port: number): Promise<{seconds: number; body: string}> {
	const started = performance.now();
	return new Promise(resolve => {
		const request = http.get({host: '127.0.0.1', port, path: '/metrics', timeout: 10_000}, response => {
			let body = '';
			response.setEncoding('utf8').on('data', (chunk: string) => {
				body += chunk;
			}).on('end', () => {
				resolve({seconds: (performance.now() - started) / 1000, body});
			});
		});
		request.on('timeout', () => {
			request.destroy();
			resolve({seconds: Number.POSITIVE_INFINITY, body: ''});
		});
		request.on('error', () => {
			resolve({seconds: Number.POSITIVE_INFINITY, body: ''});
		});
	});
}

async function metricsSoak(name: string, tree: string, variant: string): Promise<void> {
	const port = 19_464 + Math.floor(Math.random() * 1000);
	const child = spawn(process.execPath, [binary(tree), '--metrics', String(port)], {stdio: ['ignore', 'ignore', 'inherit']});
	const scrapes: Array<Promise<{seconds: number; body: string}>> = [];
	try {
		await soak(`${name} --metrics`, variant, child.pid!, {
			sample() {
				scrapes.push(scrape(port));
			},
			async finish() {
				const done = await Promise.all(scrapes);
				const last = await scrape(port);
				const lost = Number(/^tcptop_events_lost_total (\d+)/m.exec(last.body)?.[1] ?? -1);
				const slowest = Math.max(...done.map(s => s.seconds));
				const timedOut = done.filter(s => s.seconds === Number.POSITIVE_INFINITY).length;
				return {stall: Number.isFinite(slowest) ? slowest : 10, lost, notes: `${done.length} scrapes, slowest ${Number.isFinite(slowest) ? `${(slowest * 1000).toFixed(0)} ms` : 'timed out'}, ${timedOut} timed out`};
			},
		});
	} finally {
		child.kill('SIGTERM');
		await once(child, 'close');
	}
}


/** Runs a command under /usr/bin/time: wall seconds and peak memory (MiB). */
async function measureOnce(command: string[]): Promise<{seconds: number; mib: number}> {
	const child = spawn('/usr/bin/time', ['-f', 'TIMED %e %M', ...command], {stdio: ['ignore', 'ignore', 'pipe']});
	let stderr = '';
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
		stderr += chunk;
	});
	await once(child, 'close');
	const [, wall, kib] = /TIMED ([\d.]+) (\d+)/.exec(stderr) ?? [];
	return {seconds: Number(wall), mib: Number(kib) / 1024};
}


/**
 * How long the idle view is measured. At 100,000 sockets a complete socket walk (every
 * socket, with owners) comes about every 100 s and costs most of a second: a 30 s window
 * read a point high or low depending on whether one fell in it.
 */
const idleSeconds = 120;

async function idleView(name: string, tree: string): Promise<void> {
	await inView(`idle-${name}`, tree, async (pid, view) => {
		await delay(15_000); // the start-up snapshot, V8's compiling, the first passes
		const before = cpuSeconds(pid);
		// Resident memory every second: one reading lands anywhere in V8's collection cycle.
		const rss: number[] = [];
		for (let second = 0; second < idleSeconds; second++) {
			await delay(1000);
			rss.push(rssMiB(pid));
		}

		const share = (cpuSeconds(pid) - before) / idleSeconds;
		rss.sort((a, b) => a - b);
		const keys: number[] = [];
		for (let press = 0; press < 10; press++) {
			keys.push(...await keysToScreen(view));
			await delay(300);
		}

		console.log(`${name.padEnd(10)} idle view: ${(100 * share).toFixed(2)}% of a core over ${idleSeconds} s, RSS median ${Math.round(rss[rss.length >> 1]!)} MiB, max ${Math.round(rss.at(-1)!)} MiB; ${keyFigures(keys)} (${/tracked ([\d,]+)/.exec(view.screen())?.[0] ?? ''})`);
	});
}

async function batchAgainstSs(name: string, tree: string): Promise<void> {
	const ours: Array<{seconds: number; mib: number}> = [];
	const ss: Array<{seconds: number; mib: number}> = [];
	for (let run = 0; run < 3; run++) {
		ours.push(await measureOnce([process.execPath, binary(tree), '-b', '-n', '1', '--json']));
		ss.push(await measureOnce(['ss', '-tan']));
	}

	const ratios = ours.map((one, index) => one.seconds / ss[index]!.seconds);
	console.log(`${name.padEnd(10)} -b -n 1 --json: ${median(ours.map(r => r.seconds)).toFixed(2)} s, ${Math.round(median(ours.map(r => r.mib)))} MiB; ss -tan ${median(ss.map(r => r.seconds)).toFixed(2)} s, ${Math.round(median(ss.map(r => r.mib)))} MiB; ratio ${median(ratios).toFixed(1)} (${ratios.map(r => r.toFixed(1)).join(', ')})`);
}

const holders = Number(values.hold) > 0 ? await holdSockets(Number(values.hold)) : [];
try {
	if (holders.length > 0) {
		const sockets = execFileSync('ss', ['-tanH', 'state', 'established'], {encoding: 'utf8', maxBuffer: 1 << 30}).split('\n').length - 1;
		console.log(`${sockets.toLocaleString('en')} established sockets held`);
		for (const [name, tree] of trees) {
			await idleView(name, tree);
			await batchAgainstSs(name, tree);
		}
	}

	if (!values['idle-only']) {
		for (const variant of variants) {
			for (const mode of modes) {
				for (const [name, tree] of trees) {
					if (mode === 'view') {
						await viewSoak(name, tree, variant);
					} else if (mode === 'batch') {
						await batchSoak(name, tree, variant);
					} else {
						await metricsSoak(name, tree, variant);
					}
				}
			}
		}
	}
} finally {
	for (const holder of holders) {
		holder.kill();
	}
}
