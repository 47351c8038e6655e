// `--record FILE`: a source that passes on everything another source delivers and writes it to
// a recording (src/capture/recording.ts) as it goes. Every line is written with one synchronous
// write as it arrives, so a crash or a kill leaves a file whose whole lines replay; at most
// the line being written is cut short. Nothing is written to the file until the inner source
// has started, so a capture that cannot start (no privileges) leaves an earlier file as it was.
import {closeSync, constants, fstatSync, ftruncateSync, openSync, statSync, unlinkSync, writeSync} from 'node:fs';
import {hostname, release} from 'node:os';
import {jsonLine, sanitize} from '../core/sanitize.js';
import {monotonicNow} from '../core/origin.js';
import {
	acceptedRecord, itemsPerLine, recordingFormat, recordingVersion, resetRecord, socketRecord, transitionRecord,
	type RecordingHeader, type SockMap,
} from './recording.js';
import {sockPermutation} from './sock-identity.js';
import type {SocketPass, SourceHandlers, TransitionBatch, TransitionSource} from '../core/source.js';

// process.hrtime reads CLOCK_MONOTONIC on Linux, the clock the kernel stamps events with.

export type RecordingOptions = {
	/** The monotonic clock in ms; recordings stamp each line with it. */
	readonly now?: () => number;
	/** How socket identities are written (default: a permutation keyed for this recording). */
	readonly sockMap?: SockMap;
};

/** "no space left on device" out of Node's "ENOSPC: no space left on device, write". */
export function systemReason(error: unknown): string {
	const {message} = error as Error;
	return /^E[A-Z]+: ([^,]+)/.exec(message)?.[1] ?? message;
}

export class RecordingSource implements TransitionSource {
	readonly #inner: TransitionSource;
	readonly #path: string;
	readonly #now: () => number;
	/** Socket identities as this recording writes them: never a kernel address's bits. */
	readonly #hide: SockMap;
	#fd: number | undefined;
	/** Whether this source made the file it opened (removed again if the capture cannot start). */
	#created = false;
	#failed = false;
	#started = false;
	/** Lines delivered while the inner source starts, written once it has. */
	#pending: unknown[] | undefined;

	constructor(inner: TransitionSource, path: string, options: RecordingOptions = {}) {
		this.#inner = inner;
		this.#path = path;
		this.#now = options.now ?? monotonicNow;
		this.#hide = options.sockMap ?? sockPermutation();
	}

	/** Opens the file (see #open), then prepares the inner source; if that fails, the file is left as found. */
	async prepare(): Promise<void> {
		this.#open();
		try {
			await this.#inner.prepare?.();
		} catch (error) {
			this.#abandon(this.#created);
			throw error;
		}
	}

	/**
	 * Opened before the inner source is prepared or started, so a file that cannot be written
	 * costs no capture, but neither emptied nor written yet: that waits for the capture to have
	 * started. A reader waiting on a named pipe sees its end either way.
	 */
	#open(): void {
		if (this.#fd !== undefined) {
			return;
		}

		try {
			({fd: this.#fd, created: this.#created} = openUntouched(this.#path));
		} catch (error) {
			throw new Error(`cannot write the recording ${sanitize(this.#path)}: ${systemReason(error)}`, {cause: error});
		}
	}

	start(handlers: SourceHandlers): void {
		if (this.#started) {
			throw new Error('this source is already started');
		}

		this.#started = true;
		this.#open();
		const created = this.#created;

		const monoStartMs = this.#now();
		const header: RecordingHeader = {
			format: recordingFormat,
			version: recordingVersion,
			host: hostname(),
			kernel: release(),
			started: new Date(Date.now()).toISOString(),
			monoStartMs,
		};
		const fail = (error: Error) => {
			handlers.error(error);
		};

		// What the inner source delivers while it starts (the snapshot) waits here.
		this.#pending = [header];
		// The snapshot and the later passes are recorded whether or not this consumer wants them,
		// so any recording replays into any view.
		try {
			this.#inner.start({
				snapshot: pass => {
					this.#write(passLines('snapshot', this.#now(), pass, this.#hide), fail);
					handlers.snapshot?.(pass);
				},
				pass: pass => {
					// A listeners pass between two passes of the connections is not kept: a replay's
					// listeners are as those passes found them.
					if (!pass.listenersOnly) {
						this.#write(passLines('pass', this.#now(), pass, this.#hide), fail);
					}

					return handlers.pass?.(pass);
				},
				batch: batch => {
					this.#write(batchLines(this.#now(), batch, this.#hide), fail);
					handlers.batch(batch);
				},
				end: () => {
					handlers.end?.();
				},
				error: fail,
			});
		} catch (error) {
			// Nothing was captured: the file is left as it was found, or removed if this made it.
			this.#pending = undefined;
			this.#abandon(created);
			throw error;
		}

		const pending = this.#pending;
		this.#pending = undefined;
		try {
			// An earlier recording is replaced only now. A pipe or a device has nothing to empty.
			if (fstatSync(this.#fd!).isFile()) {
				ftruncateSync(this.#fd!, 0);
			}
		} catch (error) {
			this.#failed = true;
			fail(new Error(`writing the recording ${sanitize(this.#path)} failed: ${systemReason(error)}`));
		}

		this.#write(pending, fail);
	}

	/** Closes the file of a start that failed, removing it only if it is the regular file this start created. */
	#abandon(created: boolean): void {
		const fd = this.#fd!;
		this.#fd = undefined;
		try {
			const opened = fstatSync(fd);
			closeSync(fd);
			const named = statSync(this.#path);
			if (created && opened.isFile() && named.ino === opened.ino && named.dev === opened.dev) {
				unlinkSync(this.#path);
			}
		} catch {
			// Cleaning up must not hide why the start failed; an empty file at worst is left.
		}
	}

	async stop(): Promise<void> {
		await this.#inner.stop();
		if (this.#fd !== undefined && !this.#started) {
			// Prepared, never started (stopped meanwhile): nothing was captured.
			this.#abandon(this.#created);
		} else if (this.#fd !== undefined) {
			this.#write([{type: 'end', at: this.#now()}], () => {});
			closeSync(this.#fd);
			this.#fd = undefined;
		}
	}

	#write(lines: readonly unknown[], fail: (error: Error) => void): void {
		if (this.#failed || this.#fd === undefined) {
			return;
		}

		if (this.#pending) {
			this.#pending.push(...lines);
			return;
		}

		let text = '';
		for (const line of lines) {
			text += jsonLine(line) + '\n';
		}

		try {
			// One write per record: a kill leaves whole records, or one cut short at the end.
			const bytes = Buffer.from(text);
			for (let done = 0; done < bytes.length;) {
				done += writeSync(this.#fd, bytes, done);
			}
		} catch (error) {
			// A full disk ends the session: a recording with a hole in it would mislead.
			this.#failed = true;
			fail(new Error(`writing the recording ${sanitize(this.#path)} failed: ${systemReason(error)}`));
		}
	}
}

/**
 * Opens `path` for writing without emptying it, creating it if there is none, readable by its
 * owner only (a recording lists every connection of the host, and who holds it); `created`
 * says whether this made it (only then may a failed start remove it).
 */
function openUntouched(path: string): {fd: number; created: boolean} {
	const {O_WRONLY, O_CREAT, O_EXCL} = constants;
	try {
		return {fd: openSync(path, O_WRONLY), created: false};
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
			throw error;
		}
	}

	try {
		return {fd: openSync(path, O_WRONLY | O_CREAT | O_EXCL, 0o600), created: true};
	} catch (error) {
		// A dangling symbolic link, or a file made meanwhile: written through, never removed.
		if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
			throw error;
		}
	}

	return {fd: openSync(path, O_WRONLY | O_CREAT, 0o600), created: false};
}

/** Wraps `source` in a recording to `path`; the source itself when there is no path. */
export function withRecording(source: TransitionSource, path: string | undefined): TransitionSource {
	return path === undefined ? source : new RecordingSource(source, path);
}

/** Splits lists longer than itemsPerLine across a first line and "more" lines. */
function split(first: Record<string, unknown>, lists: Record<string, readonly unknown[]>): unknown[] {
	const parts = Math.max(1, ...Object.values(lists).map(list => Math.ceil(list.length / itemsPerLine)));
	const lines: Array<Record<string, unknown>> = [];
	for (let part = 0; part < parts; part++) {
		const line: Record<string, unknown> = part === 0 ? {...first, more: parts - 1} : {type: 'more'};
		for (const [name, list] of Object.entries(lists)) {
			line[name] = list.slice(part * itemsPerLine, (part + 1) * itemsPerLine);
		}

		lines.push(line);
	}

	return lines;
}

function passLines(type: 'snapshot' | 'pass', at: number, pass: SocketPass, hide: SockMap): unknown[] {
	return split(
		// `netns` (the first namespace) is what recordings made before passes walked every namespace carry.
		{type, at, monoMs: pass.monoMs, wallMs: pass.wallMs, netns: pass.namespaces[0] ?? 0, namespaces: pass.namespaces, owners: pass.owners, complete: pass.complete},
		{sockets: pass.sockets.map(socket => socketRecord(socket, hide))},
	);
}

function batchLines(at: number, batch: TransitionBatch, hide: SockMap): unknown[] {
	return split(
		{type: 'batch', at, dropped: batch.dropped, lost: batch.lost},
		{
			transitions: batch.transitions.map(t => transitionRecord(t, hide)),
			resets: batch.resets.map(r => resetRecord(r, hide)),
			accepted: batch.accepted.map(a => acceptedRecord(a, hide)),
		},
	);
}
