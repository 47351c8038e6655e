// Keys from the terminal's input, one Ink input event at a time (Ink has already split the
// input into single escape sequences and runs of text). Ink's own useInput throws on some
// sequences (a modified function key such as Ctrl-F1, `\x1b[1;5P`, from a paste or a
// terminal that sends one), which would end the program: tcptop reads keys through this
// small table instead, and an escape sequence it does not know is ignored, never typed.

export type NamedKey =
	| 'up' | 'down' | 'left' | 'right' | 'pageUp' | 'pageDown' | 'home' | 'end'
	| 'enter' | 'escape' | 'tab' | 'backTab' | 'backspace' | 'delete' | 'f6' | 'f10' | 'ctrlC';

/** A named key, or one printable character. */
export type KeyPress = {readonly name: NamedKey; readonly text?: undefined} | {readonly text: string; readonly name?: undefined};

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
		return [];
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
