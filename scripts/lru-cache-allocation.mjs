// An esbuild plugin for the bundle (scripts/bundle.mjs): lru-cache makes its lists of keys and
// values as `Array.from({length: max}).fill(undefined)`, which builds each by iterating max
// entries: 15 ms at every start for the connection table's default cap (65,536 rows), 140 ms
// with --max-conns 1000000. `new Array(max).fill(undefined)` makes the same lists (max entries,
// each undefined, in fast elements) in a sixth of the time. The two lists are the package's only
// such calls (its readable and its minified builds); a release without them stops the build.
// test/lru-cache-allocation.test.ts checks the patched cache against the package's own.
import {readFileSync} from 'node:fs';

const listOfMax = /Array\.from\(\{ ?length: ?([\w$]+) ?\}\)\.fill\((undefined|void 0)\)/g;

/** A build of lru-cache's index (file, for errors), patched (see above). */
export function patchLruCache(source, file) {
	const found = source.match(listOfMax)?.length ?? 0;
	if (found !== 2) {
		throw new Error(`${file}: expected 2 lists made with Array.from({length: max}), found ${found} (a new release? see scripts/lru-cache-allocation.mjs)`);
	}

	return source.replace(listOfMax, (_list, max, nothing) => `new Array(${max}).fill(${nothing})`);
}

export function lruCacheAllocation() {
	return {
		name: 'lru-cache-allocation',
		setup(bundle) {
			bundle.onLoad({filter: /[/\\]node_modules[/\\]lru-cache[/\\]dist[/\\]esm[/\\](?:node[/\\])?index(?:\.min)?\.js$/}, ({path}) => ({
				loader: 'js',
				contents: patchLruCache(readFileSync(path, 'utf8'), path),
			}));
		},
	};
}
