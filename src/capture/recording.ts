// The recording format (README.md, "Recording format"): NDJSON, a header line, then one line
// per thing a source delivered, each stamped with when it was delivered. Fields are listed
// here one by one, so a decoded record (whose strings are getters) is written whole, and a
// field added to an event means a new version of the format.
import type {Accepted, ExistingSocket, Reset, SocketFigures, Transition} from './transition.js';

export const recordingFormat = 'tcptop-recording';
export const recordingVersion = 1;

/** Items of one list on one line; a longer list goes on in "more" lines, keeping lines small. */
export const itemsPerLine = 10_000;
/** The longest line a replay reads (tcptop writes lines of a few MiB at most). */
export const maxLineBytes = 64 * 1024 * 1024;

export type RecordingHeader = {
	readonly format: typeof recordingFormat;
	readonly version: number;
	/** Where and when: the host's name and kernel release, the wall-clock start (ISO 8601). */
	readonly host: string;
	readonly kernel: string;
	readonly started: string;
	/** CLOCK_MONOTONIC at the start, in ms: the clock of every `at` and `monoMs` that follows. */
	readonly monoStartMs: number;
};

export function transitionRecord(t: Transition) {
	return {
		monoMs: t.monoMs, wallMs: t.wallMs, sock: t.sock, netns: t.netns,
		family: t.family, laddr: t.laddr, lport: t.lport, raddr: t.raddr, rport: t.rport,
		pid: t.pid, tid: t.tid, comm: t.comm, oldstate: t.oldstate, newstate: t.newstate, ms: t.ms,
	};
}

export function resetRecord(r: Reset) {
	return {
		monoMs: r.monoMs, wallMs: r.wallMs, sock: r.sock, netns: r.netns,
		family: r.family, laddr: r.laddr, lport: r.lport, raddr: r.raddr, rport: r.rport,
		pid: r.pid, comm: r.comm, state: r.state, sent: r.sent,
	};
}

export function acceptedRecord(a: Accepted) {
	return {
		monoMs: a.monoMs, wallMs: a.wallMs, sock: a.sock, netns: a.netns,
		family: a.family, laddr: a.laddr, lport: a.lport, raddr: a.raddr, rport: a.rport,
		pid: a.pid, tid: a.tid, comm: a.comm,
	};
}

export function socketRecord(s: ExistingSocket) {
	return {
		monoMs: s.monoMs, wallMs: s.wallMs, sock: s.sock, netns: s.netns,
		family: s.family, laddr: s.laddr, lport: s.lport, raddr: s.raddr, rport: s.rport,
		state: s.state, pid: s.pid, comm: s.comm, figures: s.figures ? figuresRecord(s.figures) : null,
	};
}

function figuresRecord(f: SocketFigures) {
	return {bytesAcked: f.bytesAcked, bytesReceived: f.bytesReceived, srttUs: f.srttUs, retransmits: f.retransmits};
}

// What a replay checks of each item: the type of every field. Enough for the model to run on it
// and for a damaged or foreign file to be refused where it goes wrong.
export type FieldType = 'number' | 'string' | 'boolean' | 'family' | 'number|null' | 'figures';
export type Shape = Readonly<Record<string, FieldType>>;

const eventShape = {
	monoMs: 'number', wallMs: 'number', sock: 'number', netns: 'number',
	family: 'family', laddr: 'string', lport: 'number', raddr: 'string', rport: 'number',
} as const;
export const transitionShape: Shape = {...eventShape, pid: 'number', tid: 'number', comm: 'string', oldstate: 'number', newstate: 'number', ms: 'number|null'};
export const resetShape: Shape = {...eventShape, pid: 'number', comm: 'string', state: 'number', sent: 'boolean'};
export const acceptedShape: Shape = {...eventShape, pid: 'number', tid: 'number', comm: 'string'};
export const socketShape: Shape = {...eventShape, state: 'number', pid: 'number', comm: 'string', figures: 'figures'};
const figuresShape: Shape = {bytesAcked: 'number', bytesReceived: 'number', srttUs: 'number', retransmits: 'number'};

function fits(value: unknown, type: FieldType): boolean {
	switch (type) {
		case 'family': {
			return value === 4 || value === 6;
		}

		case 'number|null': {
			return value === null || typeof value === 'number';
		}

		case 'figures': {
			return value === null || (typeof value === 'object' && wrongField(value, figuresShape) === undefined);
		}

		default: {
			return typeof value === type;
		}
	}
}

/** The first field of `item` that does not have its type, or undefined when all do. */
export function wrongField(item: unknown, shape: Shape): string | undefined {
	if (typeof item !== 'object' || item === null) {
		return '';
	}

	const fields = item as Record<string, unknown>;
	for (const name in shape) {
		if (!fits(fields[name], shape[name]!)) {
			return name;
		}
	}

	return undefined;
}
