// The first complete socket walk of a session, which every start pays (the view's first frame,
// `-b -n 1`): the addon loaded afresh in a process of its own for each measurement, its first
// snapshot() timed, with N established loopback sockets held by other processes; for the
// passes-only session of `-b -n 1` and for the tracing one of the view, and with --baseline
// for another built checkout's addon, alternating, in the same run.
//
//   node --import=tsx bench/first-walk.ts [--hold 100000] [--runs 5] [--baseline DIR]
import {execFileSync} from 'node:child_process';
import {parseArgs} from 'node:util';
import {fileURLToPath} from 'node:url';
import {holdSockets, median} from './held-sockets.js';

const {values} = parseArgs({options: {hold: {type: 'string', default: '100000'}, runs: {type: 'string', default: '5'}, baseline: {type: 'string'}}});
const here = fileURLToPath(new URL('..', import.meta.url));
const trees: Array<[string, string]> = [['tcptop', here], ...(values.baseline ? [['baseline', values.baseline] as [string, string]] : [])];

// Run in a process of its own: the first walk of a fresh session is what is measured.
const probe = `
const addon = require(require.resolve('node-gyp-build', {paths: [process.argv[1]]}))(process.argv[1]);
(async () => {
	const loaded = await addon.load({passesOnly: process.argv[2] === 'passes'});
	const capture = new addon.Capture(loaded, () => {}, () => {});
	const started = performance.now();
	const block = capture.snapshot();
	const ms = performance.now() - started;
	capture.stop();
	console.log(JSON.stringify({ms, bytes: block.byteLength}));
	process.exit(0);
})();
`;

function firstWalk(tree: string, kind: 'passes' | 'tracing'): {ms: number; bytes: number} {
	return JSON.parse(execFileSync(process.execPath, ['-e', probe, tree, kind], {encoding: 'utf8'})) as {ms: number; bytes: number};
}

const holders = await holdSockets(Number(values.hold));
try {
	console.log(`${values.hold} established sockets held; ${values.runs} runs each, alternating`);
	const results = new Map<string, number[]>();
	for (let run = 0; run < Number(values.runs); run++) {
		for (const kind of ['passes', 'tracing'] as const) {
			for (const [name, tree] of trees) {
				const {ms} = firstWalk(tree, kind);
				const key = `${name} ${kind === 'passes' ? '-b -n 1 (passes only)' : 'view (tracing)'}`;
				results.set(key, [...results.get(key) ?? [], ms]);
			}
		}
	}

	for (const [key, list] of results) {
		console.log(`${key.padEnd(40)} first walk median ${median(list).toFixed(0)} ms (${list.map(ms => ms.toFixed(0)).join(', ')})`);
	}
} finally {
	for (const holder of holders) {
		holder.kill();
	}
}
