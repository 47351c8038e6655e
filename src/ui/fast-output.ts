// A faster `Output.get` for Ink 6.8, the step that turns the laid-out text of a frame into the
// lines written to the terminal. Ink's own builds a grid of one object per cell, splits every
// line into graphemes (Intl.Segmenter), gives each character an object with a copy of its
// styles, then compares neighbours' styles cell by cell: most of a frame's CPU time and of
// its garbage. This one reads the same writes as runs of text between SGR codes and keeps a
// row as two arrays (characters, and the style each has, shared by a run), and produces the
// same string as Ink's, byte for byte, using Ink's own style arithmetic
// (@alcalzone/ansi-tokenize) at the few places the style changes.
//
// It takes only frames made of characters one cell wide that never join the character before
// them (printable ASCII and the view's own symbols) and SGR codes, without clipping; any
// other frame (a process name in CJK, an emoji in a filter) goes to Ink's own `get`. Ink's
// `Output` is not public: src/ui/ink-internals.ts finds it, and hands it over only on the Ink
// release this was written against (test/ui-fast-output.test.tsx compares the two on frames of
// the view).
import {ansiCodesToString, diffAnsiCodes, reduceAnsiCodesIncremental, tokenize, type AnsiCode} from '@alcalzone/ansi-tokenize';
import {inkInternals, type InkOutput, type InkOutputGet as Get} from './ink-internals.js';

// Characters the view draws beyond ASCII: separators, sort markers, arrows, the transitions
// table's borders, the sparkline's blocks. Each is one cell wide and a grapheme of its own.
// The bundle's build reads this line (scripts/deferred-unicode.mjs): keep it one quoted string.
export const singleCellSymbols = '·▲▼→←↑↓…─│┌┐└┘├┤┬┴┼╭╮╯╰▁▂▃▄▅▆▇█';
const symbolCodes = new Set([...singleCellSymbols].map(symbol => symbol.codePointAt(0)!));

const noStyle: readonly AnsiCode[] = [];

/** A write's line as runs: characters, and where the style changes (index into chars, style). */
type Parsed = {chars: string; changes: Array<{at: number; styles: readonly AnsiCode[]}>};

/** A line's characters and style changes, or undefined when it holds anything else. */
function parse(line: string): Parsed | undefined {
	let chars = '';
	const changes: Parsed['changes'] = [];
	let styles = noStyle;
	let start = 0;
	let index = 0;
	while (index < line.length) {
		const code = line.charCodeAt(index);
		if (code >= 0x20 && code < 0x7F) {
			index++;
			continue;
		}

		if (code !== 0x1B) {
			if (!symbolCodes.has(code)) {
				return undefined;
			}

			index++;
			continue;
		}

		// An SGR code: ESC [ digits and semicolons m. Ink strips every other control sequence
		// before this step but keeps OSC (links), which this does not handle.
		if (line.charCodeAt(index + 1) !== 0x5B) {
			return undefined;
		}

		let end = index + 2;
		while (end < line.length) {
			const next = line.charCodeAt(end);
			if ((next >= 0x30 && next <= 0x39) || next === 0x3B) {
				end++;
			} else {
				break;
			}
		}

		if (line.charCodeAt(end) !== 0x6D) {
			return undefined;
		}

		chars += line.slice(start, index);
		const tokens = tokenize(line.slice(index, end + 1));
		styles = reduceAnsiCodesIncremental(styles as AnsiCode[], tokens as AnsiCode[]);
		changes.push({at: chars.length, styles});
		index = end + 1;
		start = index;
	}

	chars += line.slice(start);
	return {chars, changes};
}

/** One row of the frame: a character and its styles per cell; styles are shared along a run. */
type Row = {chars: string[]; styles: Array<readonly AnsiCode[]>};

function blankRow(width: number): Row {
	return {chars: new Array<string>(width).fill(' '), styles: new Array<readonly AnsiCode[]>(width).fill(noStyle)};
}

function put(row: Row, x: number, parsed: Parsed) {
	const {chars, changes} = parsed;
	let styles = noStyle;
	let change = 0;
	for (let index = 0; index < chars.length; index++) {
		while (change < changes.length && changes[change]!.at === index) {
			styles = changes[change]!.styles;
			change++;
		}

		row.chars[x + index] = chars[index]!;
		row.styles[x + index] = styles;
	}
}

/** The row as Ink writes it: codes only where the style changes, reset at the end, trailing blanks cut. */
function rowString(row: Row): string {
	let text = '';
	let previous = noStyle;
	let runStart = 0;
	const {chars, styles} = row;
	for (let index = 0; index < chars.length; index++) {
		const current = styles[index]!;
		if (current !== previous) {
			const codes = ansiCodesToString(diffAnsiCodes(previous as AnsiCode[], current as AnsiCode[]));
			if (codes !== '') {
				text += chars.slice(runStart, index).join('') + codes;
				runStart = index;
			}

			previous = current;
		}
	}

	text += chars.slice(runStart).join('') + ansiCodesToString(diffAnsiCodes(previous as AnsiCode[], []));
	return text.trimEnd();
}

/** The frame's lines, or undefined when a write needs Ink's own handling. */
function fastGet(output: InkOutput): {output: string; height: number} | undefined {
	const rows: Array<Row | undefined> = Array.from({length: output.height});
	for (const operation of output.operations) {
		if (operation.type !== 'write') {
			return undefined;
		}

		const {x, y, text, transformers} = operation;
		// Ink drops a write that starts above the frame, and the lines of one that run below it.
		const lines = y < 0 ? [] : text.split('\n');
		for (let index = 0; index < lines.length && y + index < output.height; index++) {

			let line = lines[index]!;
			for (const transformer of transformers) {
				line = transformer(line, index);
			}

			const parsed = parse(line);
			// A write past a row's end would leave holes in Ink's grid, which it skips.
			if (parsed === undefined || x < 0 || x > output.width) {
				return undefined;
			}

			const row = rows[y + index] ??= blankRow(output.width);
			put(row, x, parsed);
		}
	}

	return {output: rows.map(row => (row ? rowString(row) : '')).join('\n'), height: rows.length};
}

let installed: {prototype: {get: Get}; inkGet: Get} | undefined;

/**
 * Replaces Ink's `Output.get` with the faster one for every frame drawn from now on; false
 * (Ink's own stays) when the fastOutput workaround is not active (src/ui/ink-internals.ts).
 */
export async function installFastOutput(): Promise<boolean> {
	const {output: Output} = await inkInternals();
	if (installed) {
		return true;
	}

	if (!Output) {
		return false;
	}

	const inkGet = Output.prototype.get;
	Output.prototype.get = function (this: InkOutput) {
		return fastGet(this) ?? inkGet.call(this);
	};

	installed = {prototype: Output.prototype, inkGet};
	return true;
}

/** Gives Ink its own `get` back (for benchmarks comparing the two). */
export function removeFastOutput(): void {
	if (installed) {
		installed.prototype.get = installed.inkGet;
		installed = undefined;
	}
}

/**
 * For tests: Ink's `Output.prototype`, Ink's own `get` and the fast one (undefined when it
 * would hand the frame to Ink's); undefined when not installed.
 */
export function outputGetters(): {prototype: {get: Get}; ink: Get; fast: (output: InkOutput) => {output: string; height: number} | undefined} | undefined {
	return installed && {prototype: installed.prototype, ink: installed.inkGet, fast: fastGet};
}
