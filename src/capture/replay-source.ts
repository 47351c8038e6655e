// `--replay FILE`: a recording (src/capture/recording.ts) played back as a source, with the
// recorded timing scaled by a speed (0: as fast as it can be read). Nothing here touches the
// kernel, so a replay needs no privileges. The replay keeps a clock of its own: the recorded
// monotonic time it has reached, so ages and rates read as they did on the recording host.
import {closeSync, openSync} from 'node:fs';
import {sanitize} from '../core/sanitize.js';
import {LineReader, LineTooLongError, type Line} from './line-reader.js';
import {monotonicNow} from '../core/origin.js';
import {
	acceptedShape, fitsNumber, maxEarlyMs, maxGapMs, maxItemsPerRecord, maxLineBytes, maxMoreLines, recordingFormat, recordingVersion, resetShape, socketShape, transitionShape, wrongField,
	type RecordingHeader, type Shape,
} from './recording.js';
import {systemReason} from './recording-source.js';
import {finishNow, type SocketPass, type SourceHandlers, type TransitionBatch, type TransitionSource} from '../core/source.js';
import type {Accepted, ExistingSocket, Reset, Transition} from '../core/transition.js';

/** A header is a few hundred bytes: a first line longer than this is not one. */
const maxHeaderBytes = 64 * 1024;
/** At --speed 0, how long the replay reads before it lets the rest of the program run. */
const sliceMs = 10;
/** The longest delay setTimeout takes (Node makes a longer one 1 ms): a longer wait is slept in parts. */
const maxSleepMs = (2 ** 31) - 1;


export class ReplayError extends Error {
	override name = 'ReplayError';
}

export type ReplayOptions = {
	/** Recorded time per real time: 1 as recorded, 2 twice as fast, 0 as fast as possible. */
	readonly speed?: number;
	/** Told about what is replayed in spite of damage (a last line cut short). */
	readonly warn?: (message: string) => void;
};

type ReplayEvent =
	| {readonly type: 'snapshot' | 'pass'; readonly at: number; readonly line: number; readonly pass: SocketPass}
	| {readonly type: 'batch'; readonly at: number; readonly line: number; readonly batch: TransitionBatch}
	| {readonly type: 'end'; readonly at: number; readonly line: number};

type Lists = Record<string, unknown[]>;

type Timer = {readonly atMs: number; readonly callback: () => void | Promise<void>};

const batchLists = {transitions: transitionShape, resets: resetShape, accepted: acceptedShape};
const passLists = {sockets: socketShape};
const recordTypes = new Set(['batch', 'snapshot', 'pass', 'end']);

export class ReplaySource implements TransitionSource {
	readonly header: RecordingHeader;
	readonly speed: number;
	readonly #name: string;
	readonly #warn: (message: string) => void;
	#fd: number | undefined;
	readonly #reader: LineReader;
	/** The next event, read ahead (the first one, to see whether it is the snapshot). */
	#next: ReplayEvent | undefined;
	#started = false;
	#stopped = false;
	#ended = false;
	#clockMs: number;
	#realStartMs = 0;
	#waitingForMs: number | undefined;
	#wake: (() => void) | undefined;
	/** Ends a hold (a timer's callback waiting for its output). */
	#release: (() => void) | undefined;
	#timer: NodeJS.Timeout | undefined;
	/** The recording has been read to its end (#next holds nothing more). */
	#exhausted = false;
	/** Timers on the replay's clock, soonest first (among equals, in the order they were set). */
	readonly #timers: Timer[] = [];
	/** The latest time a record read so far was delivered at: the next may not be far after it. */
	#readAtMs: number;
	#done: Promise<void> = Promise.resolve();

	/** Opens the recording and reads its header; throws a one-line error when it cannot. */
	constructor(path: string, options: ReplayOptions = {}) {
		this.#name = sanitize(path);
		this.speed = options.speed ?? 1;
		this.#warn = options.warn ?? (() => {});
		try {
			this.#fd = openSync(path, 'r');
		} catch (error) {
			throw new ReplayError(`cannot read the recording ${this.#name}: ${systemReason(error)}`);
		}

		this.#reader = new LineReader(this.#fd);
		try {
			this.header = this.#readHeader();
		} catch (error) {
			this.#close();
			throw error;
		}

		this.#clockMs = this.header.monoStartMs;
		this.#readAtMs = this.header.monoStartMs;
	}

	/** The recorded monotonic time (ms) the replay has reached; it stops at the end of the recording. */
	now(): number {
		if (this.speed === 0 || this.#ended || !this.#started) {
			return this.#clockMs;
		}

		// Between events the clock runs at the replay's speed, but never past the event it waits for.
		const running = this.header.monoStartMs + ((monotonicNow() - this.#realStartMs) * this.speed);
		return Math.max(this.#clockMs, Math.min(running, this.#waitingForMs ?? this.#clockMs));
	}

	/** Whether everything recorded has been delivered. */
	get ended(): boolean {
		return this.#ended;
	}

	start(handlers: SourceHandlers): void {
		if (this.#started || this.#fd === undefined) {
			throw new Error('this source is already started');
		}

		this.#started = true;
		this.#realStartMs = monotonicNow();
		// The snapshot is delivered before start returns, as the kernel's is.
		this.#next = this.#readEvent();
		this.#exhausted = this.#next === undefined;
		if (this.#next?.type === 'snapshot') {
			const {pass, at} = this.#next;
			this.#next = undefined;
			this.#clockMs = at;
			handlers.snapshot?.(pass);
		}

		this.#done = this.#play(handlers);
	}

	async stop(): Promise<void> {
		this.#stopped = true;
		this.#timers.length = 0;
		this.#interrupt();
		this.#release?.();
		await this.#done;
		this.#close();
	}

	/**
	 * Calls `callback` once the replay's clock reaches `atMs`: after every event recorded up to
	 * then and before any later one, at the real time the speed gives it (at --speed 0, as soon
	 * as the replay gets there). A timer the recording ends before never fires. While a promise
	 * the callback returns is pending, the replay waits. Returns what cancels it.
	 */
	setTimer(atMs: number, callback: () => void | Promise<void>): () => void {
		const timer: Timer = {atMs, callback};
		const index = this.#timers.findIndex(other => other.atMs > atMs);
		this.#timers.splice(index === -1 ? this.#timers.length : index, 0, timer);
		// A replay waiting for something later plans again.
		this.#interrupt();
		return () => {
			const at = this.#timers.indexOf(timer);
			if (at !== -1) {
				this.#timers.splice(at, 1);
			}
		};
	}

	async #play(handlers: SourceHandlers): Promise<void> {
		let sliceStart = monotonicNow();
		try {
			// Always yields first: the consumer finishes starting before the first batch.
			await this.#sleep(0);
			while (!this.#stopped) {
				if (this.#next === undefined && !this.#exhausted) {
					this.#next = this.#readEvent();
					this.#exhausted = this.#next === undefined;
				}

				const event = this.#next;
				// Events at a timer's time come before it; at the end, the timers the clock has reached.
				const soonest = this.#timers[0];
				const timer = soonest !== undefined && (event === undefined ? soonest.atMs <= this.#clockMs : soonest.atMs < event.at)
					? soonest
					: undefined;
				const dueAt = timer?.atMs ?? event?.at;
				if (dueAt === undefined) {
					break;
				}

				if (this.speed > 0) {
					this.#waitingForMs = dueAt;
					const due = this.#realStartMs + ((dueAt - this.header.monoStartMs) / this.speed);
					const wait = due - monotonicNow();
					if (wait > 0) {
						await this.#sleep(wait);
						sliceStart = monotonicNow();
						// A timer may have come or gone meanwhile.
						continue;
					}
				}

				if (monotonicNow() - sliceStart > sliceMs) {
					// Keys, frames and output get their turn while a replay catches up.
					await this.#sleep(0);
					sliceStart = monotonicNow();
					continue;
				}

				if (timer) {
					this.#timers.shift();
					this.#clockMs = Math.max(this.#clockMs, timer.atMs);
					const held = timer.callback();
					if (held) {
						await this.#hold(held);
						sliceStart = monotonicNow();
					}

					continue;
				}

				this.#next = undefined;
				this.#clockMs = Math.max(this.#clockMs, event!.at);
				this.#deliver(event!, handlers);
			}

			this.#waitingForMs = undefined;
			if (!this.#stopped) {
				this.#ended = true;
				this.#timers.length = 0;
				this.#close();
				handlers.end?.();
			}
		} catch (error) {
			this.#close();
			handlers.error(error as Error);
		}
	}

	#deliver(event: ReplayEvent, handlers: SourceHandlers): void {
		switch (event.type) {
			case 'batch': {
				handlers.batch(event.batch);
				break;
			}

			case 'pass': {
				finishNow(handlers.pass?.(event.pass));
				break;
			}

			case 'snapshot': {
				throw this.#damage(event.line, 'a start-up snapshot after the start');
			}

			case 'end': {
				break;
			}
		}
	}

	async #sleep(ms: number): Promise<void> {
		await new Promise<void>(resolve => {
			this.#wake = resolve;
			this.#timer = setTimeout(resolve, Math.min(ms, maxSleepMs));
		});
		this.#wake = undefined;
	}

	/** Waits for what a timer's callback returned, or for a stop. */
	async #hold(held: Promise<void>): Promise<void> {
		await Promise.race([held, new Promise<void>(resolve => {
			this.#release = resolve;
		})]);
		this.#release = undefined;
	}

	/** Ends a sleep early: the replay plans again (or sees it is stopped). */
	#interrupt(): void {
		clearTimeout(this.#timer);
		this.#wake?.();
	}

	#close(): void {
		if (this.#fd !== undefined) {
			closeSync(this.#fd);
			this.#fd = undefined;
		}
	}

	#damage(line: number, message: string): ReplayError {
		return new ReplayError(`${this.#name}, line ${line}: ${message}`);
	}

	#readHeader(): RecordingHeader {
		const notRecording = new ReplayError(`${this.#name} is not a tcptop recording (its first line is not a recording header)`);
		let line: Line | undefined;
		try {
			line = this.#reader.next(maxHeaderBytes);
		} catch (error) {
			if (error instanceof LineTooLongError) {
				throw notRecording;
			}

			throw new ReplayError(`cannot read the recording ${this.#name}: ${systemReason(error)}`);
		}

		if (line === undefined) {
			throw new ReplayError(`${this.#name} is empty, not a tcptop recording`);
		}

		const header = parseObject(line.text);
		if (header?.format !== recordingFormat) {
			throw notRecording;
		}

		if (header.version !== recordingVersion) {
			const version = typeof header.version === 'number' ? String(header.version) : sanitize(JSON.stringify(header.version) ?? 'unknown').slice(0, 20);
			throw new ReplayError(`${this.#name} is a version ${version} tcptop recording; this tcptop reads version ${recordingVersion}${Number(header.version) > recordingVersion ? ' (a newer tcptop wrote it)' : ''}`);
		}

		for (const [field, type] of [['host', 'string'], ['kernel', 'string'], ['started', 'string'], ['monoStartMs', 'number']] as const) {
			if (typeof header[field] !== type) {
				throw this.#damage(1, `the header's ${field} is missing or not a ${type}`);
			}
		}

		if (!Number.isFinite(header.monoStartMs) || (header.monoStartMs as number) < 0) {
			throw this.#damage(1, 'the header\'s monoStartMs is not a finite number >= 0');
		}

		// Batch mode reads the recorded wall-clock time from it.
		if (Number.isNaN(Date.parse(header.started as string))) {
			throw this.#damage(1, 'the header\'s started is not a date');
		}

		return header as RecordingHeader;
	}

	/** Reads one event, with the "more" lines that complete it; undefined at the end. */
	#readEvent(): ReplayEvent | undefined {
		const first = this.#readLine();
		if (first === undefined) {
			return undefined;
		}

		const {record, line} = first;
		if (!recordTypes.has(record.type as string)) {
			throw this.#damage(line, record.type === 'more'
				? 'a continuation line (more) that no record announced'
				: `not a record of a tcptop recording (type ${describe(record.type)})`);
		}

		const at = record.at;
		if (!fitsNumber(at, 'time')) {
			throw this.#damage(line, 'its time (at) is missing or not a finite number');
		}

		this.#checkTime(line, 'at', at as number);
		this.#readAtMs = Math.max(this.#readAtMs, at as number);

		switch (record.type) {
			case 'batch': {
				for (const counter of ['dropped', 'lost'] as const) {
					if (!fitsNumber(record[counter], 'count')) {
						throw this.#damage(line, `${counter} is missing or not a count (an integer from 0 to 2^53-1)`);
					}
				}

				const lists = this.#lists(record, line, batchLists);

				return {
					type: 'batch',
					at: at as number,
					line,
					batch: {
						transitions: lists.transitions as Transition[],
						resets: lists.resets as Reset[],
						accepted: lists.accepted as Accepted[],
						dropped: record.dropped as number,
						lost: record.lost as number,
					},
				};
			}

			case 'snapshot':
			case 'pass': {
				for (const [field, type] of [['monoMs', 'time'], ['wallMs', 'time'], ['netns', 'uint32']] as const) {
					if (!fitsNumber(record[field], type)) {
						throw this.#damage(line, `${field} is missing or not ${type === 'time' ? 'a finite number' : 'an integer from 0 to 4294967295'}`);
					}
				}

				for (const field of ['owners', 'complete'] as const) {
					if (typeof record[field] !== 'boolean') {
						throw this.#damage(line, `${field} is missing or not true or false`);
					}
				}

				// Recordings made before passes walked every namespace name the one they walked in `netns` only.
				const namespaces = record.namespaces ?? [record.netns];
				if (!Array.isArray(namespaces) || namespaces.length === 0 || !namespaces.every(inode => fitsNumber(inode, 'uint32'))) {
					throw this.#damage(line, 'namespaces is not a list of integers from 0 to 4294967295');
				}

				this.#checkTime(line, 'monoMs', record.monoMs as number);
				const lists = this.#lists(record, line, passLists);

				// A socket without counters is written with null for them; the source type says undefined.
				const sockets = (lists.sockets as Array<ExistingSocket & {figures: unknown}>).map(socket =>
					socket.figures === null ? {...socket, figures: undefined} : socket);
				const pass: SocketPass = {
					monoMs: record.monoMs as number, wallMs: record.wallMs as number, namespaces: namespaces as number[],
					owners: record.owners as boolean, complete: record.complete as boolean, sockets,
				};
				return {type: record.type, at: at as number, line, pass};
			}

			case 'end': {
				const after = this.#readLine();
				if (after !== undefined) {
					throw this.#damage(after.line, 'a record after the end of the recording');
				}

				return {type: 'end', at: at as number, line};
			}

			default: {
				throw new Error(`unhandled record type ${String(record.type)}`);
			}
		}
	}

	/**
	 * A record's time must follow the recording's: not before its start, and not further after
	 * the record before than a year (a damaged number would make a replay wait, or print, forever).
	 */
	#checkTime(line: number, field: string, ms: number): void {
		if (ms < this.header.monoStartMs - maxEarlyMs) {
			throw this.#damage(line, `its ${field} is before the recording's start (the header's monoStartMs)`);
		}

		if (ms > this.#readAtMs + maxGapMs) {
			throw this.#damage(line, `its ${field} is more than a year after the record before it`);
		}
	}

	/** The lists of a record checked item by item, with its "more" lines appended. */
	#lists(record: Record<string, unknown>, line: number, shapes: Record<string, Shape>): Lists {
		const more = record.more ?? 0;
		if (typeof more !== 'number' || !Number.isInteger(more) || more < 0) {
			throw this.#damage(line, 'more is not a count of lines');
		}

		if (more > maxMoreLines) {
			throw this.#damage(line, `more is ${more}; a record may continue on at most ${maxMoreLines} lines`);
		}

		const lists: Lists = {};
		this.#appendLists(lists, record, line, shapes, line);
		for (let part = 0; part < more; part++) {
			const next = this.#readLine();
			if (next === undefined) {
				this.#warn(`${this.#name} ends in the middle of the record that starts on line ${line}: the part that is there is replayed`);
				break;
			}

			if (next.record.type !== 'more') {
				throw this.#damage(next.line, `expected the continuation (more) of line ${line}'s record, found ${describe(next.record.type)}`);
			}

			this.#appendLists(lists, next.record, next.line, shapes, line);
		}

		return lists;
	}

	#appendLists(lists: Lists, record: Record<string, unknown>, line: number, shapes: Record<string, Shape>, firstLine: number): void {
		let items = 0;
		for (const list of Object.values(lists)) {
			items += list.length;
		}

		for (const [name, shape] of Object.entries(shapes)) {
			const list = record[name];
			if (!Array.isArray(list)) {
				throw this.#damage(line, `${name} is missing or not a list`);
			}

			items += list.length;
			if (items > maxItemsPerRecord) {
				throw this.#damage(line, `the record that starts on line ${firstLine} has more than ${maxItemsPerRecord.toLocaleString('en-US')} items, the most a replay takes`);
			}

			for (const [index, item] of list.entries()) {
				const wrong = wrongField(item, shape);
				if (wrong !== undefined) {
					throw this.#damage(line, wrong.path === ''
						? `${name}[${index}] is not an object`
						: `${name}[${index}].${wrong.path} is missing or not ${wrong.expected}`);
				}
			}

			const known = lists[name];
			if (known) {
				for (const item of list) {
					known.push(item);
				}
			} else {
				lists[name] = list;
			}
		}
	}

	/** The next line as a JSON object; undefined at the end, or after a last line cut short. */
	#readLine(): {record: Record<string, unknown>; line: number} | undefined {
		let line: Line | undefined;
		try {
			line = this.#reader.next(maxLineBytes);
		} catch (error) {
			if (error instanceof LineTooLongError) {
				throw this.#damage(error.lineNumber, `longer than ${maxLineBytes / 1024 / 1024} MiB, the most a recording line may be`);
			}

			throw new ReplayError(`reading the recording ${this.#name} failed: ${systemReason(error)}`);
		}

		if (line === undefined) {
			return undefined;
		}

		const record = parseObject(line.text);
		if (record === undefined || typeof record.type !== 'string') {
			if (!line.complete) {
				this.#warn(`${this.#name}, line ${line.number}, the last, is cut short (the recording was interrupted): replayed up to line ${line.number - 1}`);
				return undefined;
			}

			if (record === undefined) {
				throw this.#damage(line.number, 'not JSON');
			}

			if (record.format === recordingFormat) {
				throw this.#damage(line.number, 'a second recording header (recordings joined together?)');
			}

			throw this.#damage(line.number, 'not a record of a tcptop recording (no type)');
		}

		return {record, line: line.number};
	}
}

function parseObject(text: string): Record<string, unknown> | undefined {
	try {
		const value = JSON.parse(text) as unknown;
		return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
	} catch {
		return undefined;
	}
}

/** A record type from the file, fit for an error message. */
function describe(type: unknown): string {
	return typeof type === 'string' ? `'${sanitize(type.slice(0, 40))}'` : 'missing';
}

