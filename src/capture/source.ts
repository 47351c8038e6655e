// Where transitions come from. The kernel is one source; a replay file or a test is another.
import type {ExistingSocket, Reset, Transition} from './transition.js';

export type TransitionBatch = {
	readonly transitions: readonly Transition[];
	/** Resets sent or received in the same span (see Reset for how they order with CLOSE). */
	readonly resets: readonly Reset[];
	/** Running total of records the kernel could not write (its buffer was full). */
	readonly dropped: number;
	/** Running total of records the perf buffer reported lost. */
	readonly lost: number;
};

export type SourceHandlers = {
	/**
	 * The sockets that exist when the source starts, delivered once, before any batch. A
	 * source only takes the snapshot (a walk of every TCP socket) when this is given.
	 */
	snapshot?(sockets: readonly ExistingSocket[]): void;
	batch(batch: TransitionBatch): void;
	/** The source cannot go on; it has stopped. */
	error(error: Error): void;
};

export type TransitionSource = {
	/** Throws if the source cannot start (e.g. a CaptureError from the kernel side). */
	start(handlers: SourceHandlers): void;
	/** Resolves once every batch taken before the stop has been handed to `batch`. */
	stop(): Promise<void>;
};
