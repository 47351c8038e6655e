// An esbuild plugin for the bundle (scripts/bundle.mjs): three of the view's packages build
// Unicode machinery as they load, and the view's first frame waited for it. string-width
// makes an Intl.Segmenter (ICU's break iterators, ~20 ms the first in a process) and compiles
// /^\p{RGI_Emoji}$/v (~40 ms: every emoji sequence, as a set of strings);
// @alcalzone/ansi-tokenize and slice-ansi make a Segmenter too. Here each is made when first
// needed instead, and text that cannot need them does without:
// - a Segmenter stands in that splits text of printable ASCII, ESC and the view's own
//   characters (below) one character a grapheme (which is what a Segmenter gives for it:
//   segments to iterate, and `containing`) and hands other text to a real one, made then;
// - the emoji pattern is compiled at its first test;
// - string-width's own shortcut (printable ASCII: as wide as it is long) also takes the
//   characters the view draws beyond ASCII (src/ui/fast-output.ts: singleCellSymbols, each one
//   cell wide, a grapheme of its own, no emoji), where ambiguous characters count narrow (its
//   default).
// Each replaced text is checked: a release of a package that changes it stops the build.
// test/deferred-unicode.test.ts compares the patched packages with the originals.
import {readFileSync} from 'node:fs';
import {URL} from 'node:url';

/** The characters the view draws beyond ASCII, read from where the view declares them. */
export function viewSymbols(root) {
	const source = readFileSync(new URL('src/ui/fast-output.ts', root), 'utf8');
	const [, symbols] = /export const singleCellSymbols = '([^']+)';/.exec(source) ?? [];
	if (!symbols) {
		throw new Error('src/ui/fast-output.ts: singleCellSymbols not found');
	}

	return symbols;
}

const helpers = symbols => `
function tcptopGraphemes() {
	let real;
	return {
		segment(text) {
			if (/^[\\u001B\\u0020-\\u007E${escapedClass(symbols)}]*$/u.test(text)) {
				return tcptopOneEach(text);
			}
			real ??= new Intl.Segmenter(undefined, {granularity: 'grapheme'});
			return real.segment(text);
		},
	};
}
function tcptopOneEach(text) {
	const at = index => ({segment: text[index], index, input: text});
	return {
		* [Symbol.iterator]() {
			for (let index = 0; index < text.length; index++) {
				yield at(index);
			}
		},
		containing(position) {
			const index = Math.trunc(Number(position)) || 0;
			return index >= 0 && index < text.length ? at(index) : undefined;
		},
	};
}
function tcptopLazyPattern(source, flags) {
	let real;
	return {test: text => (real ??= new RegExp(source, flags)).test(text)};
}
`;

/** The characters, as escapes for a character class of a /u pattern. */
function escapedClass(characters) {
	return [...characters].map(character => `\\u{${character.codePointAt(0).toString(16)}}`).join('');
}

function replaced(source, file, symbols, replacements) {
	let patched = source;
	for (const [from, to] of replacements) {
		if (!patched.includes(from)) {
			throw new Error(`${file}: expected \`${from}\` (a new release? see scripts/deferred-unicode.mjs)`);
		}

		patched = patched.replace(from, () => to);
	}

	return patched + helpers(symbols);
}

/**
 * string-width's index.js, patched (see above); `symbols` are the view's one-cell characters.
 * Release 8 (Ink's) has the emoji pattern and the shortcut; release 7 (wrap-ansi's) only the
 * Segmenter.
 */
export function patchStringWidth(source, symbols) {
	const release8 = source.includes('const rgiEmojiRegex');
	return replaced(source, 'string-width/index.js', symbols, [
		['const segmenter = new Intl.Segmenter();', 'const segmenter = tcptopGraphemes();'],
		...(release8 ? [
			['const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;', 'const rgiEmojiRegex = tcptopLazyPattern(\'^\\\\p{RGI_Emoji}$\', \'v\');'],
			[
				'if (/^[\\u0020-\\u007E]*$/.test(string)) {',
				`if (/^[\\u0020-\\u007E]*$/.test(string) || (ambiguousIsNarrow && /^[\\u0020-\\u007E${escapedClass(symbols)}]*$/u.test(string))) {`,
			],
		] : []),
	]);
}

/** @alcalzone/ansi-tokenize's build/tokenize.js, patched (see above); `symbols` as for string-width. */
export function patchAnsiTokenize(source, symbols) {
	return replaced(source, '@alcalzone/ansi-tokenize/build/tokenize.js', symbols, [
		['const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });', 'const segmenter = tcptopGraphemes();'],
	]);
}

/** slice-ansi's tokenize-ansi.js, patched (see above); `symbols` as for string-width. */
export function patchSliceAnsi(source, symbols) {
	return replaced(source, 'slice-ansi/tokenize-ansi.js', symbols, [
		['const GRAPHEME_SEGMENTER = new Intl.Segmenter(undefined, {granularity: \'grapheme\'});', 'const GRAPHEME_SEGMENTER = tcptopGraphemes();'],
	]);
}

/** The plugin; `root` is the checkout's URL (for the view's symbols). */
export function deferredUnicode(root) {
	const symbols = viewSymbols(root);
	return {
		name: 'deferred-unicode',
		setup(bundle) {
			bundle.onLoad({filter: /[/\\]node_modules[/\\]string-width[/\\]index\.js$/}, ({path}) => ({
				loader: 'js',
				contents: patchStringWidth(readFileSync(path, 'utf8'), symbols),
			}));
			bundle.onLoad({filter: /[/\\]node_modules[/\\]@alcalzone[/\\]ansi-tokenize[/\\]build[/\\]tokenize\.js$/}, ({path}) => ({
				loader: 'js',
				contents: patchAnsiTokenize(readFileSync(path, 'utf8'), symbols),
			}));
			bundle.onLoad({filter: /[/\\]node_modules[/\\]slice-ansi[/\\]tokenize-ansi\.js$/}, ({path}) => ({
				loader: 'js',
				contents: patchSliceAnsi(readFileSync(path, 'utf8'), symbols),
			}));
		},
	};
}
