// The view's frames to the terminal, rewriting only the lines that changed: over a slow SSH
// link a steady frame costs its changed lines, not the whole screen. Ink renders in its
// `debug` mode into this stream (one whole frame per write, no erasing of its own; only where
// src/ui/ink-internals.ts found Ink's debug mode to do so); this keeps the frame on screen
// and draws each next one over it. Ink 6.8's own incremental rendering cannot be used: it
// moves the cursor up one line too few after a frame that ends with a newline, and every
// frame lands a line lower than the last (bench/README.md).
//
// The frame is drawn where the cursor was, as Ink draws it, and the cursor stays on its last
// line (hidden), so the moves to a changed line are relative. A frame is drawn whole, from the
// top of the screen, after a resize (the terminal may have rewrapped the old one) and while
// it is taller than the screen (relative moves could not reach its top).
import {EventEmitter} from 'node:events';
import {singleCellSymbols} from './fast-output.js';

const esc = '\u001B[';
const hideCursor = `${esc}?25l`;
const showCursor = `${esc}?25h`;
const eraseLine = `${esc}2K`;
const eraseDown = `${esc}J`;
/** A line whose characters each take one column (no styles): its string index is its column. */
const plainLine = new RegExp(`^[\\x20-\\x7E${singleCellSymbols}]*$`);
/** Unchanged characters between two changes that are rewritten rather than jumped (a jump costs ~5 bytes). */
const jumpOver = 6;
// Synchronized output: the terminal shows the frame once it is complete (ignored by those without it).
const beginUpdate = `${esc}?2026h`;
const endUpdate = `${esc}?2026l`;

type Output = Pick<NodeJS.WriteStream, 'write' | 'columns' | 'rows' | 'on' | 'off' | 'isTTY' | 'destroyed' | 'writable' | 'writableEnded'>;

export class FrameWriter extends EventEmitter {
	/** The lines on screen, top first; empty before the first frame. */
	private shown: string[] = [];
	/** The line of the frame the cursor is on. */
	private row = 0;
	private redraw = false;
	private pending: string | undefined;
	private timer: NodeJS.Timeout | undefined;
	private lastWriteAt = Number.NEGATIVE_INFINITY;
	private finished = false;

	/**
	 * @param out the terminal
	 * @param minIntervalMs frames that come faster (keys held down) are merged: the latest is
	 * drawn. 30 a second, as Ink's own default: a key pressed right after another shows within
	 * 33 ms, and a held key's frames cost a slow link little (only changed lines are sent).
	 */
	constructor(private readonly out: Output, private readonly minIntervalMs = 33) {
		super();
		out.on('resize', this.onResize);
	}

	// What Ink reads of its output stream.
	get columns(): number {
		return this.out.columns;
	}

	get rows(): number {
		return this.out.rows;
	}

	get isTTY(): boolean {
		return true;
	}

	get destroyed(): boolean {
		return this.out.destroyed;
	}

	get writable(): boolean {
		return this.out.writable;
	}

	get writableEnded(): boolean {
		return this.out.writableEnded;
	}

	/** A whole frame from Ink (or Ink showing the cursor as it unmounts: the frame is then final). */
	write(data: string | Uint8Array): boolean {
		const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
		if (text === showCursor) {
			this.end();
		} else if (text !== '' && !this.finished) {
			this.pending = text;
			const wait = this.lastWriteAt + this.minIntervalMs - performance.now();
			if (wait <= 0) {
				this.flush();
			} else {
				this.timer ??= setTimeout(this.flush, wait);
			}
		}

		return true;
	}

	/** Draws what is pending, leaves the cursor on the line below the frame and shows it. */
	end(): void {
		if (this.finished) {
			return;
		}

		this.flush();
		this.finished = true;
		this.out.off('resize', this.onResize);
		if (this.shown.length > 0 && this.usable()) {
			this.out.write(`${this.moveTo(this.shown.length - 1)}\r\n${showCursor}`);
		}
	}

	private readonly onResize = () => {
		this.redraw = true;
		this.emit('resize');
	};

	private readonly flush = () => {
		clearTimeout(this.timer);
		this.timer = undefined;
		const frame = this.pending;
		this.pending = undefined;
		if (frame === undefined || !this.usable()) {
			return;
		}

		this.lastWriteAt = performance.now();
		const lines = frame.split('\n');
		const text = this.shown.length === 0 ? hideCursor + lines.join('\n') : this.changes(lines);
		this.shown = lines;
		this.row = lines.length - 1;
		if (text !== '') {
			this.out.write(beginUpdate + text + endUpdate);
		}
	};

	/** What turns the frame on screen into `lines`, ending on the last of them. */
	private changes(lines: string[]): string {
		const rows = this.out.rows || Number.POSITIVE_INFINITY;
		if (this.redraw || lines.length >= rows || this.shown.length >= rows) {
			this.redraw = false;
			return `${esc}H${esc}2J${lines.join('\n')}`;
		}

		const {shown} = this;
		let text = '';
		for (const [index, line] of lines.entries()) {
			if (index < shown.length) {
				if (line !== shown[index]) {
					text += this.moveTo(index) + lineChange(shown[index]!, line);
				}
			} else {
				// Below the old frame: new lines (the terminal scrolls if it must).
				text += `${this.moveTo(index - 1)}\r\n${eraseLine}${line}`;
				this.row = index;
			}
		}

		if (lines.length < shown.length) {
			text += `${this.moveTo(lines.length)}\r${eraseDown}`;
		}

		return text + this.moveTo(lines.length - 1);
	}

	/** The cursor move from the current line to line `target` of the frame. */
	private moveTo(target: number): string {
		const move = target - this.row;
		this.row = target;
		return move === 0 ? '' : (move < 0 ? `${esc}${-move}A` : `${esc}${move}B`);
	}

	private usable(): boolean {
		return !this.out.destroyed && !this.out.writableEnded;
	}
}

/**
 * What turns line `old` on screen into `line`, the cursor being on it: for lines without
 * styles, the changed stretches only (a refresh changes a row's ages and rates, not its
 * addresses), else the whole line.
 */
export function lineChange(old: string, line: string): string {
	const whole = `\r${eraseLine}${line}`;
	if (!plainLine.test(old) || !plainLine.test(line)) {
		return whole;
	}

	const common = Math.min(old.length, line.length);
	let text = '';
	let index = 0;
	while (index < common) {
		if (old[index] === line[index]) {
			index++;
			continue;
		}

		let end = index + 1;
		for (let next = end; next < common && next - end < jumpOver; next++) {
			if (old[next] !== line[next]) {
				end = next + 1;
			}
		}

		text += `${esc}${index + 1}G${line.slice(index, end)}`;
		index = end;
	}

	if (line.length > old.length) {
		text += `${esc}${common + 1}G${line.slice(common)}`;
	} else if (line.length < old.length) {
		text += `${esc}${line.length + 1}G${esc}K`;
	}

	return text.length < whole.length ? text : whole;
}
