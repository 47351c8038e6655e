// Text that comes from outside tcptop (process names, replay files) can hold terminal escape
// sequences: a process may name itself "\x1b]0;owned\x07". Nothing like that reaches a
// terminal: control characters are shown as visible \xHH escapes instead.

// C0 controls, DEL, C1 controls (U+009B is a one-character CSI on some terminals), and the
// Unicode bidirectional overrides that can reorder what is displayed.
const unsafe = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escape(character: string): string {
	const code = character.codePointAt(0)!;
	return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Whether a character is one `unsafe` matches. */
function isUnsafe(code: number): boolean {
	return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x20_2a && code <= 0x20_2e) || (code >= 0x20_66 && code <= 0x20_69);
}

export function sanitize(text: string): string {
	// Most text is safe: a loop over its characters costs a fraction of a regular expression's
	// replace, which -b pays for every cell of tens of thousands of rows.
	for (let index = 0; index < text.length; index++) {
		if (isUnsafe(text.charCodeAt(index))) {
			return text.replace(unsafe, escape);
		}
	}

	return text;
}

/** One line of JSON in which no character can act on a terminal (JSON.stringify leaves DEL and C1 raw). */
export function jsonLine(value: unknown): string {
	return JSON.stringify(value).replace(unsafe, character => `\\u${character.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
