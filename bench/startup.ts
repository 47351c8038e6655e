// Start-up, as a user meets it, side by side with `ss -tanp` in one run: how long `tcptop -b
// -n 1 --json` takes from the command to its exit, and how long the live view takes from the
// command to its first frame on a terminal (a pseudo-terminal made by script(1), read until
// the header's figures appear; script's own start, measured the same way around `printf`, is
// shown as the floor). Runs alternate between the commands (and, with --baseline, another
// built checkout), so a drift in the machine's speed falls on all of them; each figure is the
// median of --runs, each ratio the median of the runs' own ratios.
//
// Run as the user runs tcptop, through sudo: without NODE_EXTRA_CA_CERTS (sudo resets the
// environment; Node reads that file at start, some 90 ms for a system's CA bundle). With
// --hold N, N established loopback sockets are held meanwhile.
//
//   node --import=tsx bench/startup.ts [--runs 15] [--hold N] [--baseline DIR]
import {spawn, spawnSync} from 'node:child_process';
import {once} from 'node:events';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {holdSockets, median} from './held-sockets.js';

const {values} = parseArgs({
	options: {
		runs: {type: 'string', default: '15'},
		hold: {type: 'string', default: '0'},
		baseline: {type: 'string'},
	},
});

const runs = Number(values.runs);
const here = fileURLToPath(new URL('..', import.meta.url));
const trees: Array<[string, string]> = [['tcptop', here], ...(values.baseline ? [['baseline', values.baseline] as [string, string]] : [])];
const env = {...process.env};
delete env.NODE_EXTRA_CA_CERTS;
delete env.CI;

/** Seconds from spawning `command` (through sh, output to /dev/null) to its exit. */
async function timed(command: string): Promise<number> {
	const started = performance.now();
	const child = spawn('sh', ['-c', `${command} > /dev/null`], {stdio: 'ignore', env});
	const [code] = await once(child, 'exit') as [number | null];
	if (code !== 0) {
		throw new Error(`${command} exited with ${code}`);
	}

	return (performance.now() - started) / 1000;
}

/**
 * Seconds from spawning `command` on a pseudo-terminal to `shown` appearing in what it wrote;
 * then `q` is typed (the view quits) and the process awaited.
 */
async function firstFrame(command: string, shown: string): Promise<number> {
	const started = performance.now();
	const child = spawn('script', ['-qfec', command, '/dev/null'], {stdio: ['pipe', 'pipe', 'inherit'], env: {...env, COLUMNS: '160', LINES: '40'}});
	// A command that has already exited (the floor's printf) takes no key.
	child.stdin.on('error', () => undefined);
	let output = '';
	let seconds: number | undefined;
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
		output += chunk;
		if (seconds === undefined && output.includes(shown)) {
			seconds = (performance.now() - started) / 1000;
			child.stdin.write('q');
		}
	});
	const timeout = setTimeout(() => child.kill(), 10_000);
	await once(child, 'exit');
	clearTimeout(timeout);
	if (seconds === undefined) {
		throw new Error(`${command} showed no '${shown}' in 10 s: ${JSON.stringify(output.slice(0, 300))}`);
	}

	return seconds;
}

const holders = Number(values.hold) > 0 ? await holdSockets(Number(values.hold)) : [];
try {
	const sockets = spawnSync('ss', ['-tanH'], {encoding: 'utf8', maxBuffer: 1 << 30}).stdout.split('\n').length - 1;
	console.log(`start-up, ${runs} runs alternating, ${sockets.toLocaleString('en')} TCP sockets on the host, Node ${process.version}`);
	const figures = new Map<string, number[]>();
	const note = (name: string, value: number) => {
		figures.set(name, [...(figures.get(name) ?? []), value]);
	};

	// One run of each first, not counted: the files are in the page cache for every tree alike.
	for (let run = 0; run <= runs; run++) {
		const counted = run > 0;
		const ss = await timed('ss -tanp');
		const floor = await firstFrame('printf "tracked "', 'tracked ');
		for (const [name, tree] of trees) {
			const batch = await timed(`${tree}/bin/tcptop -b -n 1 --json`);
			const view = await firstFrame(`${tree}/bin/tcptop`, 'tracked ');
			if (counted) {
				note(`${name} -b -n 1`, batch);
				note(`${name} first frame`, view);
				note(`${name} -b -n 1 / ss`, batch / ss);
				note(`${name} first frame / ss`, view / ss);
			}
		}

		if (counted) {
			note('ss -tanp', ss);
			note('terminal floor (script printf)', floor);
		}
	}

	for (const [name, list] of figures) {
		const ratio = name.includes(' / ');
		const shown = ratio ? `${median(list).toFixed(1)}x` : `${median(list).toFixed(3)} s`;
		console.log(`${name.padEnd(34)} median ${shown.padStart(8)}   (min ${Math.min(...list).toFixed(3)}, max ${Math.max(...list).toFixed(3)})`);
	}

	if (trees.length > 1) {
		for (const figure of ['-b -n 1', 'first frame']) {
			const ours = figures.get(`tcptop ${figure}`)!;
			const theirs = figures.get(`baseline ${figure}`)!;
			console.log(`tcptop / baseline, ${figure}: ${median(ours.map((value, index) => value / theirs[index]!)).toFixed(2)}`);
		}
	}
} finally {
	for (const holder of holders) {
		holder.kill();
	}
}
