// Lines of a file read a chunk at a time, so a file of any size replays in bounded memory, and a
// line longer than a cap is refused before it is read whole.
import {readSync} from 'node:fs';

const chunkBytes = 1024 * 1024;

export type Line = {
	readonly text: string;
	/** 1 for the first line. */
	readonly number: number;
	/** false for a last line without its newline: the writer was stopped in the middle of it. */
	readonly complete: boolean;
};

export class LineTooLongError extends Error {
	constructor(readonly lineNumber: number, readonly cap: number) {
		super(`line ${lineNumber} is longer than ${cap / 1024 / 1024} MiB`);
	}
}

export class LineReader {
	readonly #fd: number;
	#data = Buffer.alloc(0);
	#at = 0;
	/** The start of the current line, when it began in earlier chunks. */
	#pending: Buffer[] = [];
	#pendingBytes = 0;
	#lineNumber = 0;
	#eof = false;

	constructor(fd: number) {
		this.#fd = fd;
	}

	/** The next line (without its newline), or undefined at the end of the file. */
	next(cap: number): Line | undefined {
		for (;;) {
			const newline = this.#data.indexOf(10, this.#at);
			if (newline !== -1) {
				this.#check(newline - this.#at, cap);
				const text = this.#take(this.#data.subarray(this.#at, newline));
				this.#at = newline + 1;
				return {text, number: ++this.#lineNumber, complete: true};
			}

			const rest = this.#data.subarray(this.#at);
			this.#check(rest.length, cap);
			if (rest.length > 0) {
				this.#pending.push(rest);
				this.#pendingBytes += rest.length;
				this.#at = this.#data.length;
			}

			if (this.#eof || !this.#read()) {
				if (this.#pendingBytes === 0) {
					return undefined;
				}

				return {text: this.#take(Buffer.alloc(0)), number: ++this.#lineNumber, complete: false};
			}
		}
	}

	#check(bytes: number, cap: number): void {
		if (this.#pendingBytes + bytes > cap) {
			throw new LineTooLongError(this.#lineNumber + 1, cap);
		}
	}

	/** The current line's text: what is pending from earlier chunks, then `last`. */
	#take(last: Buffer): string {
		if (this.#pending.length === 0) {
			return last.toString('utf8');
		}

		const whole = Buffer.concat([...this.#pending, last]);
		this.#pending = [];
		this.#pendingBytes = 0;
		return whole.toString('utf8');
	}

	/** Reads the next chunk; false at the end of the file. */
	#read(): boolean {
		// A fresh buffer each time: pending lines still point into the previous one.
		const chunk = Buffer.allocUnsafe(chunkBytes);
		const bytes = readSync(this.#fd, chunk, 0, chunkBytes, null);
		this.#data = chunk.subarray(0, bytes);
		this.#at = 0;
		this.#eof = bytes === 0;
		return bytes > 0;
	}
}
