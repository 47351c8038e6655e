// Builds dist/: tcptop and the packages it runs on (Ink, React, lru-cache, ...) bundled by
// esbuild into the command line, dist/cli.js, and the chunks it loads only when a mode needs
// them (the live view, metrics): a start reads and compiles a few files, not the six hundred
// Ink alone spreads over in node_modules. Left out, and so loaded from node_modules:
// node-gyp-build (it finds the native addon at run time), prom-client (--metrics only) and
// react-devtools-core (Ink loads it only in its development mode).
//
// Three packages' Unicode data (ICU segmenters, the emoji pattern) are made when first needed,
// not as the view loads: scripts/deferred-unicode.mjs. lru-cache makes its lists faster:
// scripts/lru-cache-allocation.mjs.
//
// Ink's internals gate (src/ui/ink-internals.ts) needs two of Ink's private modules and its
// version: src/ui/ink-modules.ts finds them in node_modules; here it is replaced by a module that
// imports those files statically, so that they are the modules of the Ink in the bundle.
import {readFileSync, rmSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath, URL} from 'node:url';
import {build} from 'esbuild';
import {deferredUnicode} from './deferred-unicode.mjs';
import {lruCacheAllocation} from './lru-cache-allocation.mjs';

const inkBuild = dirname(fileURLToPath(import.meta.resolve('ink')));
const inkVersion = JSON.parse(readFileSync(join(inkBuild, '..', 'package.json'), 'utf8')).version;

const bundledInk = {
	name: 'bundled-ink',
	setup(bundle) {
		bundle.onLoad({filter: /[/\\]src[/\\]ui[/\\]ink-modules\.ts$/}, () => ({
			loader: 'js',
			resolveDir: inkBuild,
			contents: `
import * as output from ${JSON.stringify(join(inkBuild, 'output.js'))};
import * as measureText from ${JSON.stringify(join(inkBuild, 'measure-text.js'))};
export function inkPackageVersion() {
	return ${JSON.stringify(inkVersion)};
}
export async function inkPrivateModule(file) {
	return file === 'output.js' ? output : measureText;
}
`,
		}));
	},
};

rmSync('dist', {recursive: true, force: true});
await build({
	entryPoints: ['src/cli.ts'],
	outdir: 'dist',
	bundle: true,
	splitting: true,
	format: 'esm',
	platform: 'node',
	target: 'node20',
	external: ['node-gyp-build', 'prom-client', 'react-devtools-core'],
	chunkNames: 'chunks/[name]-[hash]',
	// Bundled CommonJS (React) calls require for Node's own modules.
	banner: {js: 'import {createRequire as tcptopCreateRequire} from \'node:module\'; const require = tcptopCreateRequire(import.meta.url);'},
	// string-width's, ansi-tokenize's and slice-ansi's Unicode data made when first needed, and
	// lru-cache's lists made faster (see there).
	plugins: [bundledInk, deferredUnicode(new URL('..', import.meta.url)), lruCacheAllocation()],
	// React's production build only (the view sets NODE_ENV so when run from the sources), and
	// minified: half the code to read and compile at start (the view's chunk 1.5 MB -> 0.35 MB).
	define: {'process.env.NODE_ENV': '"production"'},
	logOverride: {'assign-to-define': 'silent'},
	minify: true,
	logLevel: 'warning',
});
