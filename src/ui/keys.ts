// Keys from the terminal's input, one input event at a time (Ink, or InputSplitter below
// where Ink's input events are not used, has already split the input into single escape
// sequences and runs of text). Ink's own useInput throws on some sequences (a modified
// function key such as Ctrl-F1, `\x1b[1;5P`, from a paste or a terminal that sends one),
// which would end the program: tcptop reads keys through this small table instead, and an
// escape sequence it does not know is ignored, never typed.

export type NamedKey =
	| 'up' | 'down' | 'left' | 'right' | 'pageUp' | 'pageDown' | 'home' | 'end'
	| 'enter' | 'escape' | 'tab' | 'backTab' | 'backspace' | 'delete' | 'f1' | 'f2' | 'f3' | 'f4' | 'f6' | 'f10' | 'ctrlC';

/** A mouse report (SGR, as xterm sends it once asked to): x and y from 1, the top left cell. */
export type MouseReport = {
	/** 0 left, 1 middle, 2 right; 64 wheel up, 65 wheel down (modifier bits removed). */
	readonly button: number;
	readonly x: number;
	readonly y: number;
	readonly release: boolean;
};

/** A named key, one printable character, or the mouse. */
export type KeyPress =
	| {readonly name: NamedKey; readonly text?: undefined; readonly mouse?: undefined}
	| {readonly text: string; readonly name?: undefined; readonly mouse?: undefined}
	| {readonly name: 'mouse'; readonly mouse: MouseReport; readonly text?: undefined};

// ESC [ < button ; x ; y M (press) or m (release).
const mouseReport = /^\u001B\[<(\d+);(\d+);(\d+)([Mm])$/;

/** Terminal modes tcptop turns on for the mouse (press and release reports, SGR encoding), and off. */
export const mouseOn = '\u001B[?1000h\u001B[?1006h';
export const mouseOff = '\u001B[?1006l\u001B[?1000l';

const sequences: ReadonlyMap<string, NamedKey> = new Map<string, NamedKey>([
	['\u001B', 'escape'], ['\u001B\u001B', 'escape'],
	['\u001B[A', 'up'], ['\u001BOA', 'up'],
	['\u001B[B', 'down'], ['\u001BOB', 'down'],
	['\u001B[C', 'right'], ['\u001BOC', 'right'],
	['\u001B[D', 'left'], ['\u001BOD', 'left'],
	['\u001B[5~', 'pageUp'], ['\u001B[6~', 'pageDown'],
	['\u001B[H', 'home'], ['\u001BOH', 'home'], ['\u001B[1~', 'home'], ['\u001B[7~', 'home'],
	['\u001B[F', 'end'], ['\u001BOF', 'end'], ['\u001B[4~', 'end'], ['\u001B[8~', 'end'],
	['\u001B[3~', 'delete'], ['\u001B[Z', 'backTab'],
	// F1 to F4 as xterm (SS3), the VT220 family and the Linux console send them.
	['\u001BOP', 'f1'], ['\u001B[11~', 'f1'], ['\u001B[[A', 'f1'],
	['\u001BOQ', 'f2'], ['\u001B[12~', 'f2'], ['\u001B[[B', 'f2'],
	['\u001BOR', 'f3'], ['\u001B[13~', 'f3'], ['\u001B[[C', 'f3'],
	['\u001BOS', 'f4'], ['\u001B[14~', 'f4'], ['\u001B[[D', 'f4'],
	['\u001B[17~', 'f6'],
	['\u001B[21~', 'f10'], ['\u001B[21;2~', 'f10'],
]);

const controls: ReadonlyMap<string, NamedKey> = new Map<string, NamedKey>([
	['\r', 'enter'], ['\n', 'enter'], ['\t', 'tab'], ['\u007F', 'backspace'], ['\b', 'backspace'], ['\u0003', 'ctrlC'],
]);

// C0 and C1 controls and DEL: never text.
const control = /[\u0000-\u001F\u007F-\u009F]/;

// What opens a control string (OSC, DCS, APC, PM, SOS), which runs to BEL or ST (ESC \).
const stringOpeners = new Set(['\u001B]', '\u001BP', '\u001B_', '\u001B^', '\u001BX']);
// Ink hands over a control string's opener as one event and its body as text: the body is
// skipped up to its end, or for this long at most (a paste arrives at once; keys typed after
// an opener that never ends are keys again).
const stringMaxMs = 100;

/**
 * Keys from a sequence of input events, skipping the bodies of control strings (a pasted
 * `ESC ] 0;title BEL` must not type `0;title` into the filter).
 */
export class KeyDecoder {
	#stringSince: number | undefined;

	decode(data: string, now = Date.now()): KeyPress[] {
		if (this.#stringSince !== undefined) {
			if (now - this.#stringSince > stringMaxMs || data.startsWith('\u001B')) {
				// Any escape ends a control string; ST itself is nothing more.
				this.#stringSince = undefined;
				if (data === '\u001B\\') {
					return [];
				}
			} else {
				const end = data.search(/[\u0007\u009C]/);
				if (end === -1) {
					return [];
				}

				this.#stringSince = undefined;
				data = data.slice(end + 1);
			}
		}

		if (stringOpeners.has(data)) {
			this.#stringSince = now;
			return [];
		}

		return decodeKeys(data);
	}
}

/** The keys in one input event: keys typed faster than they are read arrive together. */
export function decodeKeys(data: string): KeyPress[] {
	const named = sequences.get(data);
	if (named) {
		return [{name: named}];
	}

	if (data.startsWith('\u001B')) {
		const mouse = mouseReport.exec(data);
		// Shift, Alt and Ctrl (4, 8, 16) are left out; motion reports (32) are not asked for.
		return mouse ? [{name: 'mouse', mouse: {button: Number(mouse[1]) & ~28, x: Number(mouse[2]), y: Number(mouse[3]), release: mouse[4] === 'm'}}] : [];
	}

	const presses: KeyPress[] = [];
	for (const character of data) {
		const name = controls.get(character);
		if (name) {
			presses.push({name});
		} else if (!control.test(character)) {
			presses.push({text: character});
		}
	}

	return presses;
}

/**
 * Raw terminal input split into input events as Ink's own input parser splits it: each escape
 * sequence (CSI, SS3, either after a second ESC, or ESC and one character) an event of its own,
 * the text between them one event. For keys read from the stdin stream rather than Ink's input
 * events (src/ui/use-keys.ts). A sequence cut off at the end of a chunk is held for the next.
 */
export class InputSplitter {
	#held = '';

	/** The events completed by `chunk`; an unfinished escape sequence at its end is held. */
	push(chunk: string): string[] {
		const input = this.#held + chunk;
		this.#held = '';
		const events: string[] = [];
		let index = 0;
		while (index < input.length) {
			const escape = input.indexOf('\u001B', index);
			if (escape === -1) {
				events.push(input.slice(index));
				break;
			}

			if (escape > index) {
				events.push(input.slice(index, escape));
			}

			const end = sequenceEnd(input, escape);
			if (end === undefined) {
				this.#held = input.slice(escape);
				break;
			}

			events.push(input.slice(escape, end));
			index = end;
		}

		return events;
	}

	/** Whether an unfinished sequence is held. */
	get holding(): boolean {
		return this.#held !== '';
	}

	/** What is held, as one event (a lone ESC is the Escape key); none when nothing is. */
	flush(): string[] {
		const held = this.#held;
		this.#held = '';
		return held === '' ? [] : [held];
	}
}

const isFinalByte = (code: number) => code >= 0x40 && code <= 0x7E;

/** Where the escape sequence that starts at `start` ends; undefined when the input ends first. */
function sequenceEnd(input: string, start: number): number | undefined {
	const doubled = input[start + 1] === '\u001B';
	const kind = start + (doubled ? 2 : 1);
	if (kind >= input.length) {
		return undefined;
	}

	if (input[kind] === '[') {
		// Parameter and intermediate bytes, then a final byte; ESC [ [ A is a legacy function key.
		let index = input[kind + 1] === '[' ? kind + 2 : kind + 1;
		while (index < input.length) {
			const code = input.charCodeAt(index);
			if (code >= 0x20 && code <= 0x3F) {
				index++;
			} else if (isFinalByte(code)) {
				return index + 1;
			} else {
				break;
			}
		}

		if (index >= input.length) {
			return undefined;
		}
	} else if (input[kind] === 'O') {
		if (kind + 1 >= input.length) {
			return undefined;
		}

		if (isFinalByte(input.charCodeAt(kind + 1))) {
			return kind + 2;
		}
	}

	// Not a CSI or SS3: ESC ESC, or ESC and the character after it.
	return doubled ? start + 2 : start + 1 + (input.codePointAt(start + 1)! > 0xFFFF ? 2 : 1);
}
