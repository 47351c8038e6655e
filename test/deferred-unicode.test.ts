// The bundle's deferred Unicode data (scripts/deferred-unicode.mjs): the packages it patches,
// bundled with the patches as the build does, give what the packages themselves give, on text
// of every kind; and text of ASCII and the view's own characters makes no ICU segmenter.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import test from 'ava';
import {build} from 'esbuild';
import originalStringWidth from 'string-width';
import {tokenize as originalTokenize} from '@alcalzone/ansi-tokenize';
import originalSliceAnsi from 'slice-ansi';
import {deferredUnicode, patchStringWidth, viewSymbols} from '../scripts/deferred-unicode.mjs';
import {singleCellSymbols} from '../src/ui/fast-output.js';

const root = new URL('..', import.meta.url);
const wrapAnsiStringWidth = new URL('node_modules/wrap-ansi/node_modules/string-width/index.js', root).href;

type StringWidth = (text: string, options?: {ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean}) => number;
type Patched = {
	stringWidth: StringWidth;
	stringWidth7: StringWidth;
	tokenize: typeof originalTokenize;
	sliceAnsi: typeof originalSliceAnsi;
};

/** The packages, bundled with the patches. */
async function patched(): Promise<Patched> {
	const result = await build({
		stdin: {
			contents: `
export {default as stringWidth} from 'string-width';
export {default as stringWidth7} from ${JSON.stringify(wrapAnsiStringWidth.replace('file://', ''))};
export {tokenize} from '@alcalzone/ansi-tokenize';
export {default as sliceAnsi} from 'slice-ansi';
`,
			resolveDir: root.pathname,
		},
		bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent',
		plugins: [deferredUnicode(root)],
	});
	const directory = mkdtempSync(join(tmpdir(), 'tcptop-unicode-'));
	const file = join(directory, 'patched.mjs');
	writeFileSync(file, result.outputFiles[0]!.text);
	try {
		return await import(pathToFileURL(file).href) as Patched;
	} finally {
		rmSync(directory, {recursive: true, force: true});
	}
}

const texts = [
	'', 'tcptop - 14:02:11 - up 5.2s', 'ESTAB 812 · CW 57 · TW 3.1k', '▲ PID', '→ ← ↑ ↓ … ─│┌┐└┘├┤┬┴┼╭╮╯╰', '▁▂▃▄▅▆▇█',
	'\u001B[1mbold\u001B[22m · \u001B[31mred\u001B[39m', '\u001B]8;;https://example.com\u0007link\u001B]8;;\u0007',
	'漢字のプロセス', 'ｶﾞｷﾞ', 'e\u0301 combining', '👍🏽 thumbs', '👨‍👩‍👧 family', '🇫🇷 flag', '1\u20E3 keycap', '\u1100\u1161\u11A8 jamo',
	'tab\there', 'cr\r\nlf', 'nul\u0000x', '\u00A0nbsp', '·é·', '×÷', 'Ω ambiguous', '\u200B zero width', '\uD800 lone surrogate',
];

test('the patches find what they replace in the installed packages, and the view\'s symbols where the view declares them', t => {
	t.is(viewSymbols(root), singleCellSymbols);
	t.throws(() => patchStringWidth('const segmenter = new Intl.Segmenter(undefined);', singleCellSymbols), {message: /string-width\/index\.js: expected/});
});

test('patched, the packages measure, tokenize and slice every kind of text as they do unpatched', async t => {
	const {stringWidth, stringWidth7, tokenize, sliceAnsi} = await patched();
	const {default: originalStringWidth7} = await import(wrapAnsiStringWidth) as {default: StringWidth};
	for (const text of texts) {
		for (const options of [undefined, {ambiguousIsNarrow: false}, {countAnsiEscapeCodes: true}]) {
			t.is(stringWidth(text, options), originalStringWidth(text, options), `string-width ${JSON.stringify(text)} ${JSON.stringify(options)}`);
			t.is(stringWidth7(text, options), originalStringWidth7(text, options), `string-width 7 ${JSON.stringify(text)} ${JSON.stringify(options)}`);
		}

		t.deepEqual(tokenize(text), originalTokenize(text), `tokenize ${JSON.stringify(text)}`);
		for (const [start, end] of [[0, 3], [2, 9], [1, undefined]] as const) {
			t.is(sliceAnsi(text, start, end), originalSliceAnsi(text, start, end), `slice-ansi ${JSON.stringify(text)} ${start}-${end}`);
		}
	}
});

test('text of printable ASCII, ESC and the view\'s symbols makes no segmenter; other text makes one when it comes', async t => {
	const {stringWidth, tokenize, sliceAnsi} = await patched();
	const Real = Intl.Segmenter;
	let made = 0;
	const intl = Intl as {Segmenter: typeof Real};
	intl.Segmenter = class extends Real {
		constructor(...parameters: ConstructorParameters<typeof Real>) {
			super(...parameters);
			made++;
		}
	};
	t.teardown(() => {
		intl.Segmenter = Real;
	});
	// Up to the OSC link (its BEL is a control character of its own).
	for (const text of texts.slice(0, 7)) {
		stringWidth(text);
		tokenize(text);
		sliceAnsi(text, 1, 5);
	}

	t.is(made, 0);
	stringWidth('漢字');
	t.is(made, 1, 'made for the first text that needs one');
	stringWidth('漢字');
	t.is(made, 1, 'and kept');
});
