// Recordings made by the real writer (RecordingSource) from events the test scripts, on a clock
// the test sets; and ways to run what a user without privileges runs.
import {chmodSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {ExecutionContext} from 'ava';
import {asNobody} from './cli.js';
import {RecordingSource} from '../../src/capture/recording-source.js';
import {finishNow, type SocketPass, type SourceHandlers, type TransitionBatch, type TransitionSource} from '../../src/core/source.js';
import type {ExistingSocket} from '../../src/core/transition.js';

/** A source that delivers what the script hands it. */
export class ScriptedSource implements TransitionSource {
	handlers: SourceHandlers | undefined;

	constructor(private readonly snapshot: SocketPass | undefined) {}

	start(handlers: SourceHandlers): void {
		this.handlers = handlers;
		if (this.snapshot) {
			handlers.snapshot?.(this.snapshot);
		}
	}

	async stop(): Promise<void> {}
}

export type ScriptStep = {at: number} & ({batch: TransitionBatch} | {pass: SocketPass});

export type Script = {
	/** When the recording starts; the snapshot, if any, is delivered then. */
	startMs: number;
	snapshot?: SocketPass;
	steps: ScriptStep[];
	/** When the recording stops; undefined leaves it without its end line (as a killed tcptop). */
	endMs?: number;
};

/** Writes a recording of the script with the real writer; what `at` says is when it is written. */
export async function writeRecording(path: string, script: Script): Promise<void> {
	const clock = {now: script.startMs};
	const inner = new ScriptedSource(script.snapshot);
	const recording = new RecordingSource(inner, path, {
		now() {
			return clock.now;
		},
		// The script's own identities, to compare a replay with (a recording of the kernel hides them).
		sockMap: sock => sock,
	});
	recording.start({
		// Asking for the snapshot; the recording takes it anyway.
		snapshot() {},
		batch() {},
		error(error) {
			throw error;
		},
	});
	const handlers = inner.handlers!;
	for (const step of script.steps) {
		clock.now = step.at;
		if ('batch' in step) {
			handlers.batch(step.batch);
		} else {
			finishNow(handlers.pass!(step.pass));
		}
	}

	if (script.endMs !== undefined) {
		clock.now = script.endMs;
		await recording.stop();
	}

	// Handed to the unprivileged replays of the tests (tcptop makes its recordings 0600).
	chmodSync(path, 0o644);
}

export function batch(fields: Partial<TransitionBatch>): TransitionBatch {
	return {transitions: [], resets: [], accepted: [], dropped: 0, lost: 0, ...fields};
}

export function existing(fields: Partial<ExistingSocket> & {sock: number; state: number}): ExistingSocket {
	return {
		monoMs: 1000, wallMs: 1_700_000_001_000, netns: 4_026_531_840,
		family: 4, laddr: '127.0.0.1', lport: 8080, raddr: '127.0.0.1', rport: 40_000,
		pid: 0, comm: '', figures: undefined,
		...fields,
	};
}

/** A folder for recordings that any user can read (replays are run without privileges). */
export function recordingsFolder(t: ExecutionContext): string {
	const folder = mkdtempSync(join(tmpdir(), 'tcptop-recordings-'));
	chmodSync(folder, 0o755);
	t.teardown(() => {
		rmSync(folder, {recursive: true, force: true});
	});
	return folder;
}

/** As root, commands run as nobody, with no capabilities; otherwise as the user running the tests. */
export const unprivileged: string[] = process.getuid?.() === 0 ? asNobody : [];
