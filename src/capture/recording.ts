// The recording format (README.md, "Recording format"): NDJSON, a header line, then one line
// per thing a source delivered, each stamped with when it was delivered. Fields are listed
// here one by one, so a decoded record (whose strings are getters) is written whole, and a
// field added to an event means a new version of the format.
import type {Accepted, ExistingSocket, ListenerQueue, Reset, SocketFigures, Transition} from '../core/transition.js';

export const recordingFormat = 'tcptop-recording';
export const recordingVersion = 1;

/** Items of one list on one line; a longer list goes on in "more" lines, keeping lines small. */
export const itemsPerLine = 10_000;
/** The longest line a replay reads (tcptop writes lines of a few MiB at most). */
export const maxLineBytes = 64 * 1024 * 1024;
/**
 * The most items (of all its lists) one record may hold, "more" lines included: a replay holds
 * a record whole before it delivers it (about 420 MiB of objects at this size). A kernel batch
 * is at most the ring buffer's 8 MiB (some 90,000 events); a snapshot lists every socket of
 * the host.
 */
export const maxItemsPerRecord = 2_000_000;
/** The most "more" lines a record may announce: what the largest record takes, split as tcptop splits. */
export const maxMoreLines = maxItemsPerRecord / itemsPerLine;

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

/** How a recording writes a socket identity (see sockPermutation); the identity itself by default. */
export type SockMap = (sock: number) => number;
const same: SockMap = sock => sock;

export function transitionRecord(t: Transition, hide: SockMap = same) {
	return {
		monoMs: t.monoMs, wallMs: t.wallMs, sock: hide(t.sock), netns: t.netns,
		family: t.family, laddr: t.laddr, lport: t.lport, raddr: t.raddr, rport: t.rport,
		pid: t.pid, tid: t.tid, comm: t.comm, oldstate: t.oldstate, newstate: t.newstate, ms: t.ms,
		// Only where it says something: most changes are not a FIN_WAIT2 -> CLOSE.
		...(t.orphaned === true ? {orphaned: true} : {}),
	};
}

export function resetRecord(r: Reset, hide: SockMap = same) {
	return {
		monoMs: r.monoMs, wallMs: r.wallMs, sock: hide(r.sock), netns: r.netns,
		family: r.family, laddr: r.laddr, lport: r.lport, raddr: r.raddr, rport: r.rport,
		pid: r.pid, comm: r.comm, state: r.state, sent: r.sent,
	};
}

export function acceptedRecord(a: Accepted, hide: SockMap = same) {
	return {
		monoMs: a.monoMs, wallMs: a.wallMs, sock: hide(a.sock), netns: a.netns,
		family: a.family, laddr: a.laddr, lport: a.lport, raddr: a.raddr, rport: a.rport,
		pid: a.pid, tid: a.tid, comm: a.comm,
	};
}

export function socketRecord(s: ExistingSocket, hide: SockMap = same) {
	return {
		monoMs: s.monoMs, wallMs: s.wallMs, sock: hide(s.sock), netns: s.netns,
		family: s.family, laddr: s.laddr, lport: s.lport, raddr: s.raddr, rport: s.rport,
		state: s.state, pid: s.pid, comm: s.comm, figures: s.figures ? figuresRecord(s.figures) : null,
		...(s.queue ? {queue: queueRecord(s.queue)} : {}),
	};
}

function queueRecord(q: ListenerQueue) {
	return {
		acceptQueue: q.acceptQueue, acceptBacklog: q.acceptBacklog, synQueue: q.synQueue, drops: q.drops,
		...(q.synAckRetransmits === undefined ? {} : {synAckRetransmits: q.synAckRetransmits}),
	};
}

function figuresRecord(f: SocketFigures) {
	return {bytesAcked: f.bytesAcked, bytesReceived: f.bytesReceived, srttUs: f.srttUs, retransmits: f.retransmits};
}

// What a replay checks of each item: every field's type and range, as the kernel can report
// it. Enough for the model to run on it (a state or a port out of range would corrupt its typed
// arrays) and for a damaged or foreign file to be refused where it goes wrong.
export type FieldType = 'time' | 'duration|null' | 'sock' | 'uint32' | 'port' | 'state' | 'count' | 'string' | 'boolean' | 'boolean|absent' | 'count|absent' | 'family' | 'figures' | 'queue|absent';
export type Shape = Readonly<Record<string, FieldType>>;

/** How far `at` (or a pass's monoMs) may be before the header's monoStartMs. */
export const maxEarlyMs = 1000;
/** How far a record's `at` (or a pass's monoMs) may be after the previous record's: a year. */
export const maxGapMs = 365 * 24 * 60 * 60 * 1000;

const eventShape = {
	monoMs: 'time', wallMs: 'time', sock: 'sock', netns: 'uint32',
	family: 'family', laddr: 'string', lport: 'port', raddr: 'string', rport: 'port',
} as const;
// `orphaned` came after the format's first release: recordings made before it lack it (false).
export const transitionShape: Shape = {
	...eventShape, pid: 'uint32', tid: 'uint32', comm: 'string', oldstate: 'state', newstate: 'state', ms: 'duration|null', orphaned: 'boolean|absent',
};
export const resetShape: Shape = {...eventShape, pid: 'uint32', comm: 'string', state: 'state', sent: 'boolean'};
export const acceptedShape: Shape = {...eventShape, pid: 'uint32', tid: 'uint32', comm: 'string'};
// A listener's `queue` came after the format's first release: absent in recordings made before it.
export const socketShape: Shape = {...eventShape, state: 'state', pid: 'uint32', comm: 'string', figures: 'figures', queue: 'queue|absent'};
const figuresShape: Shape = {bytesAcked: 'count', bytesReceived: 'count', srttUs: 'uint32', retransmits: 'uint32'};
// `synAckRetransmits` came after `queue`: absent in recordings made before it.
const queueShape: Shape = {acceptQueue: 'uint32', acceptBacklog: 'uint32', synQueue: 'uint32', drops: 'uint32', synAckRetransmits: 'count|absent'};
/** The fields that hold an object of their own: its shape, and the value that stands for none. */
const nested = {figures: {shape: figuresShape, none: null}, 'queue|absent': {shape: queueShape, none: undefined}} as const;
type NestedType = keyof typeof nested;

function integerIn(value: unknown, low: number, high: number): boolean {
	return Number.isInteger(value) && (value as number) >= low && (value as number) <= high;
}

function fits(value: unknown, type: Exclude<FieldType, NestedType>): boolean {
	switch (type) {
		case 'time': {
			return Number.isFinite(value);
		}

		case 'duration|null': {
			return value === null || (Number.isFinite(value) && (value as number) >= 0);
		}

		case 'sock': {
			return integerIn(value, 0, (2 ** 48) - 1);
		}

		case 'uint32': {
			return integerIn(value, 0, (2 ** 32) - 1);
		}

		case 'port': {
			return integerIn(value, 0, 65_535);
		}

		case 'state': {
			return integerIn(value, 1, 12);
		}

		case 'count': {
			return integerIn(value, 0, Number.MAX_SAFE_INTEGER);
		}

		case 'family': {
			return value === 4 || value === 6;
		}

		case 'boolean|absent': {
			return value === undefined || typeof value === 'boolean';
		}

		case 'count|absent': {
			return value === undefined || integerIn(value, 0, Number.MAX_SAFE_INTEGER);
		}

		default: {
			return typeof value === type;
		}
	}
}

/** What a field of the type must be, for an error message. */
export const fieldTypeNames: Readonly<Record<FieldType, string>> = {
	time: 'a finite number',
	'duration|null': 'a number >= 0 or null',
	sock: 'an integer from 0 to 2^48-1',
	uint32: 'an integer from 0 to 4294967295',
	port: 'a port (an integer from 0 to 65535)',
	state: 'a TCP state (an integer from 1 to 12)',
	count: 'a count (an integer from 0 to 2^53-1)',
	string: 'a string',
	boolean: 'true or false',
	'boolean|absent': 'true, false or absent',
	'count|absent': 'a count (an integer from 0 to 2^53-1) or absent',
	family: '4 or 6',
	figures: 'counters or null',
	'queue|absent': 'a queue or absent',
};

/** Whether `value` is a number of the type (for the fields of a record itself). */
export function fitsNumber(value: unknown, type: 'time' | 'uint32' | 'count'): boolean {
	return fits(value, type);
}

/**
 * The first field of `item` that is missing or out of its range ('' when `item` is not an
 * object; a dotted path inside counters), with what it must be; undefined when all fit.
 */
export function wrongField(item: unknown, shape: Shape): {path: string; expected: string} | undefined {
	if (typeof item !== 'object' || item === null || Array.isArray(item)) {
		return {path: '', expected: 'an object'};
	}

	const fields = item as Record<string, unknown>;
	for (const name in shape) {
		const type = shape[name]!;
		const value = fields[name];
		if (type === 'figures' || type === 'queue|absent') {
			if (value === nested[type].none) {
				continue;
			}

			const inner = typeof value === 'object' ? wrongField(value, nested[type].shape) : {path: '', expected: ''};
			if (inner !== undefined) {
				return inner.path === '' ? {path: name, expected: fieldTypeNames[type]} : {path: `${name}.${inner.path}`, expected: inner.expected};
			}
		} else if (!fits(value, type)) {
			return {path: name, expected: fieldTypeNames[type]};
		}
	}

	return undefined;
}
