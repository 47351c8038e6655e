// Ink keeps the size of every text it lays out; the live view bounds that cache
// (src/ui/ink-text-cache.ts), so a view left running does not grow by every changed line.
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import test from 'ava';

const root = new URL('..', import.meta.url);
// The module Ink itself measures texts with (build/dom.js imports ./measure-text.js).
const measureTextUrl = new URL('measure-text.js', import.meta.resolve('ink')).href;

/**
 * Heap growth (MiB, after GC) from laying out 200,000 distinct lines, in a fresh process;
 * the bound is the source's (src/, through tsx).
 */
function growthMiB(bound: boolean): number {
	const script = `
		${bound ? `if (!await (await import(${JSON.stringify(new URL('src/ui/ink-text-cache.ts', root).href)})).boundInkTextCache()) throw new Error('not bounded');` : ''}
		const {default: measureText} = await import(${JSON.stringify(measureTextUrl)});
		gc();
		const before = process.memoryUsage().heapUsed;
		for (let i = 0; i < 200000; i++) {
			const line = \`pid \${i} \`.padEnd(120, '-');
			if (measureText(line).width !== 120) throw new Error('wrong width');
		}
		gc();
		console.log((process.memoryUsage().heapUsed - before) / 1048576);
	`;
	// React's production build, as tcptop runs it (finding Ink's internals renders a probe).
	const run = spawnSync(process.execPath, ['--expose-gc', '--import=tsx', '--input-type=module', '-e', script], {
		cwd: fileURLToPath(root),
		encoding: 'utf8',
		env: {...process.env, NODE_ENV: 'production'},
	});
	if (run.status !== 0) {
		throw new Error(run.stderr);
	}

	return Number(run.stdout.trim());
}

test('the text-size cache Ink keeps for layout stays small over 200,000 distinct lines', t => {
	const unbounded = growthMiB(false);
	const bounded = growthMiB(true);
	t.log(`heap growth: Ink's own ${unbounded.toFixed(1)} MiB, bounded ${bounded.toFixed(1)} MiB`);
	t.true(bounded < 5, `bounded: ${bounded} MiB`);
	// The measurement sees the growth it guards against.
	t.true(unbounded > 4 * bounded + 10, `unbounded: ${unbounded} MiB`);
});
