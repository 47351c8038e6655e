// The bundle's patch of lru-cache (scripts/lru-cache-allocation.mjs): applied to the build the
// bundle takes, and the patched cache keeps, evicts and disposes as the package's own does.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import test from 'ava';
import {build} from 'esbuild';
import {LRUCache as OriginalCache} from 'lru-cache';
import {lruCacheAllocation, patchLruCache} from '../scripts/lru-cache-allocation.mjs';

const root = new URL('..', import.meta.url);

/** lru-cache as the bundle has it, and the source that came to be. */
async function patched(): Promise<{LRUCache: typeof OriginalCache; source: string}> {
	const result = await build({
		stdin: {contents: 'export {LRUCache} from \'lru-cache\';', resolveDir: root.pathname},
		bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent',
		plugins: [lruCacheAllocation()],
	});
	const source = result.outputFiles[0]!.text;
	const directory = mkdtempSync(join(tmpdir(), 'tcptop-lru-'));
	const file = join(directory, 'patched.mjs');
	writeFileSync(file, source);
	try {
		const {LRUCache} = await import(pathToFileURL(file).href) as {LRUCache: typeof OriginalCache};
		return {LRUCache, source};
	} finally {
		rmSync(directory, {recursive: true, force: true});
	}
}

test('the bundle\'s lru-cache makes its lists without Array.from; a build without the lists stops the bundle', async t => {
	const {source} = await patched();
	t.notRegex(source, /Array\.from\(\{ ?length: ?[\w$]+ ?\}\)\.fill/);
	t.is(source.match(/new Array\([\w$]+\)\.fill\((?:undefined|void 0)\)/g)?.length, 2);
	// The package's readable build has them too.
	const readable = readFileSync(new URL('node_modules/lru-cache/dist/esm/index.js', root), 'utf8');
	t.notRegex(patchLruCache(readable, 'index.js'), /Array\.from\(\{ ?length: ?[\w$]+ ?\}\)\.fill/);
	t.throws(() => patchLruCache('this.keys = [];', 'index.js'), {message: /index\.js: expected 2 lists made with Array\.from\(\{length: max\}\), found 0/});
});

test('patched, the cache holds, evicts and disposes as the package\'s own, through a long run of operations', async t => {
	const {LRUCache} = await patched();
	const log = (name: string, into: string[]) => (value: number, key: string, reason: string) => {
		into.push(`${name} ${key}=${value} ${reason}`);
	};

	const theirs: string[] = [];
	const ours: string[] = [];
	const original = new OriginalCache<string, number>({max: 50, dispose: log('dispose', theirs)});
	const patchedCache = new LRUCache<string, number>({max: 50, dispose: log('dispose', ours)});
	// A fixed pseudo-random run: sets, gets, peeks and deletes over 120 keys, twice the cap.
	let seed = 7;
	const next = () => {
		seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
		return Math.floor(seed / 65_536); // the high bits: the low ones repeat quickly
	};

	for (let step = 0; step < 20_000; step++) {
		const key = `k${next() % 120}`;
		const op = next() % 4;
		for (const [cache, into] of [[original, theirs], [patchedCache, ours]] as const) {
			if (op === 0) {
				into.push(`get ${key} ${cache.get(key)}`);
			} else if (op === 1) {
				into.push(`peek ${key} ${cache.peek(key)}`);
			} else if (op === 2) {
				into.push(`delete ${key} ${cache.delete(key)}`);
			} else {
				cache.set(key, step);
			}
		}
	}

	t.true(theirs.some(line => line.endsWith(' evict')));
	t.deepEqual(ours, theirs);
	t.deepEqual([...patchedCache.entries()], [...original.entries()]);
	t.is(patchedCache.size, original.size);
});
