// The decoder on hand-built records laid out as struct tcptop_record (bpf/tcptop.h).
import test from 'ava';
import {decodeBlock, decodePass, DecodeError, InStateClock, RECORD_SIZE} from '../src/capture/decode.js';
import {stateName, TcpState} from '../src/core/transition.js';

type RecordFields = {
	tsNs?: bigint;
	skaddr?: bigint;
	deltaNs?: bigint | null;
	pid?: number;
	tid?: number;
	netns?: number;
	family?: number;
	sport?: number;
	dport?: number;
	oldstate?: number;
	newstate?: number;
	type?: number;
	saddr?: number[];
	daddr?: number[];
	comm?: string;
};

function record(fields: RecordFields = {}): Uint8Array {
	const bytes = new Uint8Array(RECORD_SIZE);
	const view = new DataView(bytes.buffer);
	view.setBigUint64(0, fields.tsNs ?? 5_000_000_000n, true);
	view.setBigUint64(8, fields.skaddr ?? 0xffff_8881_2345_6780n, true);
	view.setBigUint64(16, fields.deltaNs ?? 0n, true);
	view.setUint32(24, fields.pid ?? 1234, true);
	view.setUint32(28, fields.tid ?? 1235, true);
	view.setUint32(32, fields.netns ?? 4_026_531_840, true);
	view.setUint16(36, fields.family ?? 2, true);
	view.setUint16(38, fields.sport ?? 40_000, true);
	view.setUint16(40, fields.dport ?? 443, true);
	view.setUint8(42, fields.oldstate ?? TcpState.SYN_SENT);
	view.setUint8(43, fields.newstate ?? TcpState.ESTABLISHED);
	view.setUint8(44, fields.type ?? 1);
	view.setUint8(45, fields.deltaNs === null ? 0 : 1);
	bytes.set(fields.saddr ?? [127, 0, 0, 1], 48);
	bytes.set(fields.daddr ?? [10, 1, 2, 3], 64);
	bytes.set(new TextEncoder().encode(fields.comm ?? 'curl'), 80);
	return bytes;
}

function transitionsOf(block: ArrayBuffer, wallOffsetMs: number) {
	return decodeBlock(block, wallOffsetMs).transitions;
}

function block(...records: Uint8Array[]): ArrayBuffer {
	const bytes = new Uint8Array(records.length * RECORD_SIZE);
	for (const [index, one] of records.entries()) {
		bytes.set(one, index * RECORD_SIZE);
	}

	return bytes.buffer;
}

test('an IPv4 record decodes field by field', t => {
	const [transition] = transitionsOf(block(record({deltaNs: 1_500_000n})), 1_000);
	t.like(transition, {
		monoMs: 5000,
		wallMs: 6000,
		sock: 0x8881_2345_6780,
		netns: 4_026_531_840,
		pid: 1234,
		tid: 1235,
		comm: 'curl',
		family: 4,
		laddr: '127.0.0.1',
		lport: 40_000,
		raddr: '10.1.2.3',
		rport: 443,
		oldstate: TcpState.SYN_SENT,
		newstate: TcpState.ESTABLISHED,
		ms: 1.5,
	});
});

test('an IPv6 record formats its addresses compressed', t => {
	const loopback = [...Array.from({length: 15}, () => 0), 1];
	const documentation = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42];
	const [transition] = transitionsOf(block(record({family: 10, saddr: loopback, daddr: documentation})), 0);
	t.like(transition, {family: 6, laddr: '::1', raddr: '2001:db8::42'});
});

test('a record whose previous state was not seen has ms null', t => {
	const [transition] = transitionsOf(block(record({deltaNs: null})), 0);
	t.is(transition!.ms, null);
});

test('a full-length comm without a terminating NUL is read whole', t => {
	const [transition] = transitionsOf(block(record({comm: 'abcdefghijklmnop'})), 0);
	t.is(transition!.comm, 'abcdefghijklmnop');
});

test('records in a block come out in order', t => {
	const transitions = transitionsOf(block(record({sport: 1}), record({sport: 2}), record({sport: 3})), 0);
	t.deepEqual(transitions.map(x => x.lport), [1, 2, 3]);
});

test('an empty block is no transitions', t => {
	t.deepEqual(decodeBlock(new ArrayBuffer(0), 0), {transitions: [], resets: [], accepted: [], incidents: []});
});

test('retransmit and drop records decode as incidents, in the socket\'s state, a drop with its reason\'s value', t => {
	const established = {oldstate: TcpState.ESTABLISHED, newstate: TcpState.ESTABLISHED};
	const {transitions, incidents} = decodeBlock(block(record({type: 8, ...established}), record({type: 9, deltaNs: 58n, ...established, tsNs: 6_000_000_000n})), 0);
	t.deepEqual(transitions, []);
	t.like(incidents, [
		{kind: 'retransmit', state: TcpState.ESTABLISHED, laddr: '127.0.0.1', lport: 40_000, raddr: '10.1.2.3', rport: 443, pid: 1234, comm: 'curl', monoMs: 5000, reasonValue: 0},
		{kind: 'drop', state: TcpState.ESTABLISHED, reasonValue: 58, monoMs: 6000},
	]);
});

test('a truncated block is a clear error', t => {
	const truncated = block(record(), record()).slice(0, RECORD_SIZE + 10);
	const error = t.throws(() => decodeBlock(truncated, 0), {instanceOf: DecodeError});
	t.is(error.message, `truncated block: ${RECORD_SIZE + 10} bytes is not a whole number of 96-byte records`);
});

test('an unknown record type or family is a clear error', t => {
	t.throws(() => decodeBlock(block(record(), record({type: 10})), 0), {instanceOf: DecodeError, message: 'record 1: unknown record type 10'});
	t.throws(() => decodeBlock(block(record({family: 1})), 0), {instanceOf: DecodeError, message: 'record 0: unknown address family 1'});
});

test('timestamps past 2^53 ns keep sub-microsecond precision', t => {
	const tsNs = (2n ** 60n) + 123_456_789n;
	const [transition] = transitionsOf(block(record({tsNs})), 0);
	t.true(Math.abs(transition!.monoMs - (Number(tsNs) / 1e6)) < 0.001);
});

test('a snapshot block decodes into existing sockets with their state', t => {
	const listener = record({type: 2, oldstate: TcpState.LISTEN, newstate: TcpState.LISTEN, dport: 0, daddr: [0, 0, 0, 0]});
	const [socket] = decodePass(block(listener), 1000).sockets;
	const {monoMs, wallMs, sock, netns, family, laddr, lport, raddr, rport, state, pid, comm, figures} = socket!;
	t.deepEqual({monoMs, wallMs, sock, netns, family, laddr, lport, raddr, rport, state, pid, comm, figures}, {
		monoMs: 5000,
		wallMs: 6000,
		sock: 0x8881_2345_6780,
		netns: 4_026_531_840,
		family: 4,
		laddr: '127.0.0.1',
		lport: 40_000,
		raddr: '0.0.0.0',
		rport: 0,
		state: TcpState.LISTEN,
		pid: 0,
		comm: '',
		figures: undefined,
	});
});

test('owner records join the snapshot\'s sockets by identity; the lowest pid wins', t => {
	const socket = record({type: 2, oldstate: TcpState.ESTABLISHED, newstate: TcpState.ESTABLISHED});
	const other = record({type: 2, skaddr: 0xffff_8881_0000_0040n, oldstate: TcpState.TIME_WAIT, newstate: TcpState.TIME_WAIT});
	const owners = [record({type: 5, pid: 900, comm: 'worker'}), record({type: 5, pid: 800, comm: 'master'})];
	const {sockets} = decodePass(block(socket, other, ...owners), 0);
	t.deepEqual(sockets.map(s => [s.state, s.pid, s.comm]), [[TcpState.ESTABLISHED, 800, 'master'], [TcpState.TIME_WAIT, 0, '']]);
});

test('state changes and snapshot records are not mixed up', t => {
	t.throws(() => decodePass(block(record()), 0), {instanceOf: DecodeError, message: 'record 0: unknown record type 1'});
	t.throws(() => decodeBlock(block(record({type: 2})), 0), {instanceOf: DecodeError, message: 'record 0: unknown record type 2'});
});

test('resets decode apart from state changes, in the state the socket was in', t => {
	const {transitions, resets} = decodeBlock(block(
		record({type: 4, oldstate: TcpState.SYN_SENT, newstate: TcpState.SYN_SENT}),
		record({oldstate: TcpState.SYN_SENT, newstate: TcpState.CLOSE}),
		record({type: 3, oldstate: TcpState.ESTABLISHED, newstate: TcpState.ESTABLISHED}),
	), 0);
	t.deepEqual(transitions.map(x => x.newstate), [TcpState.CLOSE]);
	t.deepEqual(resets.map(r => [r.state, r.sent]), [[TcpState.SYN_SENT, false], [TcpState.ESTABLISHED, true]]);
	t.like(resets[0], {laddr: '127.0.0.1', lport: 40_000, raddr: '10.1.2.3', rport: 443, pid: 1234, comm: 'curl'});
});

test('a full socket\'s counters decode from a pass; sockets without them have none', t => {
	const full = record({type: 2, oldstate: TcpState.ESTABLISHED, newstate: TcpState.ESTABLISHED, deltaNs: null});
	const view = new DataView(full.buffer);
	view.setUint8(45, 0x2); // TCPTOP_FLAG_FIGURES
	view.setBigUint64(16, 5_000_000_001n, true); // bytes_acked, past 2^32
	view.setBigUint64(80, 300_000n, true); // bytes_received
	view.setUint32(88, 97, true); // srtt_us
	view.setUint32(92, 3, true); // total_retrans
	const timeWait = record({type: 2, oldstate: TcpState.TIME_WAIT, newstate: TcpState.TIME_WAIT, deltaNs: null, comm: ''});
	const [socket, other] = decodePass(block(full, timeWait), 0).sockets;
	t.like(socket!.figures, {bytesAcked: 5_000_000_001, bytesReceived: 300_000, srttUs: 97, retransmits: 3});
	t.is(other!.figures, undefined);
});

test('the packets dropped for a socket follow its record in a pass: their count and the last reason, named by the caller', t => {
	const full = (skaddr: bigint) => {
		const bytes = record({type: 2, skaddr, oldstate: TcpState.ESTABLISHED, newstate: TcpState.ESTABLISHED, deltaNs: null});
		new DataView(bytes.buffer).setUint8(45, 0x2); // TCPTOP_FLAG_FIGURES
		return bytes;
	};

	const dropped = (skaddr: bigint, count: bigint, reason: number) => {
		const bytes = record({type: 10, skaddr, deltaNs: count, comm: ''});
		new DataView(bytes.buffer).setUint32(80, reason, true);
		return bytes;
	};

	const names = (value: number) => (value === 5 ? 'QDISC_DROP' : 'OTHER');
	const {sockets} = decodePass(block(full(a), dropped(a, 2n ** 33n, 5), full(b)), 0, names);
	t.is(sockets.length, 2);
	t.like(sockets[0]!.figures, {drops: 2 ** 33, dropReason: 'QDISC_DROP'});
	t.like(sockets[1]!.figures, {drops: 0, dropReason: ''});
	t.throws(() => decodePass(block(full(a), dropped(b, 1n, 5)), 0), {instanceOf: DecodeError, message: /drops of a socket not just listed/});
});

/** A namespace's per-state counts record: TCPTOP_RECORD_COUNTS, family 0. */
function countsRecord(netns: number, counts: Partial<Record<number, number>>): Uint8Array {
	const bytes = new Uint8Array(RECORD_SIZE);
	const view = new DataView(bytes.buffer);
	view.setUint32(32, netns, true);
	view.setUint8(44, 7);
	for (const [state, count] of Object.entries(counts)) {
		view.setUint32(48 + ((Number(state) - 1) * 4), count!, true);
	}

	return bytes;
}

test('each namespace\'s sockets end in its per-state counts, which are not a socket', t => {
	const socket = record({type: 2, oldstate: TcpState.ESTABLISHED, newstate: TcpState.ESTABLISHED});
	const {sockets, counts, namespaces} = decodePass(block(
		socket, countsRecord(4_026_531_840, {[TcpState.ESTABLISHED]: 70_000, [TcpState.TIME_WAIT]: 9, [TcpState.NEW_SYN_RECV]: 2}),
		socket, countsRecord(4_026_532_301, {[TcpState.ESTABLISHED]: 5, [TcpState.LISTEN]: 1}),
	), 0);
	t.is(sockets.length, 2);
	t.deepEqual(namespaces, [4_026_531_840, 4_026_532_301]);
	t.deepEqual(counts!.map(({netns}) => netns), namespaces);
	const [first, second] = counts!.map(({states}) => states);
	t.is(first![TcpState.ESTABLISHED], 70_000);
	t.is(first![TcpState.TIME_WAIT], 9);
	t.is(first![TcpState.NEW_SYN_RECV], 2);
	t.is(first![TcpState.LISTEN], 0);
	t.is(second![TcpState.ESTABLISHED], 5);
	t.is(second![TcpState.LISTEN], 1);
	t.is(second![TcpState.CLOSE_WAIT], 0);
	t.is(decodePass(block(socket), 0).counts, undefined, 'a block without them');
});

test('accept records name the accepting process apart from state changes', t => {
	const {transitions, accepted} = decodeBlock(block(
		record({oldstate: TcpState.SYN_RECV, newstate: TcpState.ESTABLISHED, pid: 0, comm: 'swapper/0'}),
		record({type: 6, oldstate: TcpState.ESTABLISHED, newstate: TcpState.ESTABLISHED, pid: 4321, tid: 4322, comm: 'nginx'}),
	), 1000);
	t.is(transitions.length, 1);
	t.deepEqual(accepted, [{
		monoMs: 5000, wallMs: 6000, sock: 0x8881_2345_6780, netns: 4_026_531_840, pid: 4321, tid: 4322, comm: 'nginx',
		family: 4, laddr: '127.0.0.1', lport: 40_000, raddr: '10.1.2.3', rport: 443,
	}]);
});

/** A state change the kernel did not time, of the socket at skaddr. */
function change(skaddr: bigint, oldstate: number, newstate: number, tsNs: bigint): Uint8Array {
	return record({skaddr, oldstate, newstate, tsNs, deltaNs: null});
}

const a = 0xffff_8881_0000_1000n;
const b = 0xffff_8881_0000_2000n;

test('the time in the previous state comes from the socket\'s own changes when the kernel did not time them', t => {
	const {transitions} = decodeBlock(block(
		change(a, TcpState.CLOSE, TcpState.SYN_SENT, 1_000_000_000n),
		change(b, TcpState.ESTABLISHED, TcpState.CLOSE_WAIT, 1_500_000_000n),
		change(a, TcpState.SYN_SENT, TcpState.ESTABLISHED, 1_002_500_000n),
		change(a, TcpState.ESTABLISHED, TcpState.FIN_WAIT1, 3_002_500_000n),
		change(b, TcpState.LAST_ACK, TcpState.CLOSE, 3_500_000_000n),
		change(a, TcpState.FIN_WAIT1, TcpState.CLOSE, 3_003_000_000n),
		// The same address again, a new socket: nothing carried over.
		change(a, TcpState.CLOSE, TcpState.SYN_SENT, 4_000_000_000n),
		change(a, TcpState.SYN_SENT, TcpState.CLOSE, 4_001_000_000n),
	), 0);
	const clock = new InStateClock();
	clock.apply(transitions);
	// The first change seen of a socket, a change from a state it was not seen entering, and
	// CLOSE -> anything have none.
	t.deepEqual(transitions.map(x => x.ms), [null, null, 2.5, 2000, null, 0.5, null, 1]);
	t.is(clock.size, 0, 'both closed: nothing kept for them');
	// A time the kernel reported stands.
	const kernelTimed = decodeBlock(block(record({skaddr: b, oldstate: TcpState.CLOSE_WAIT, newstate: TcpState.LAST_ACK, deltaNs: 7_000_000n})), 0).transitions;
	clock.apply(kernelTimed);
	t.is(kernelTimed[0]!.ms, 7);
});

test('a change delivered twice (both handler copies recorded it) is dropped, and counted', t => {
	const {transitions} = decodeBlock(block(
		change(a, TcpState.CLOSE, TcpState.SYN_SENT, 1_000_000_000n),
		change(a, TcpState.SYN_SENT, TcpState.ESTABLISHED, 1_001_000_000n),
		change(b, TcpState.ESTABLISHED, TcpState.FIN_WAIT1, 1_001_500_000n),
		change(a, TcpState.SYN_SENT, TcpState.ESTABLISHED, 1_002_000_000n),
		change(b, TcpState.ESTABLISHED, TcpState.FIN_WAIT1, 1_002_500_000n),
		change(a, TcpState.ESTABLISHED, TcpState.CLOSE, 1_003_000_000n),
		change(a, TcpState.ESTABLISHED, TcpState.CLOSE, 1_003_000_100n),
		// The address again, a new socket: its first change is no repeat.
		change(a, TcpState.CLOSE, TcpState.SYN_SENT, 2_000_000_000n),
	), 0);
	const clock = new InStateClock();
	const kept = clock.apply(transitions);
	t.deepEqual(kept.map(x => `${x.sock === transitions[0]!.sock ? 'a' : 'b'} ${stateName(x.oldstate)}->${stateName(x.newstate)}`), [
		'a CLOSE->SYN_SENT', 'a SYN_SENT->ESTABLISHED', 'b ESTABLISHED->FIN_WAIT1', 'a ESTABLISHED->CLOSE', 'a CLOSE->SYN_SENT',
	]);
	t.is(clock.repeats, 3);
	t.is(kept[1]!.ms, 1, 'timed from the first delivery');
	t.is(clock.apply(kept.slice(0, 0)).length, 0);
	// Under a pid setting a socket's changes come one by one: a repeat may be another socket's.
	const filtered = new InStateClock(false);
	t.is(filtered.apply(decodeBlock(block(
		change(a, TcpState.FIN_WAIT2, TcpState.CLOSE, 1_000_000_000n),
		change(a, TcpState.FIN_WAIT2, TcpState.CLOSE, 1_900_000_000n),
	), 0).transitions).length, 2);
	// Older than the last: a change handed over late (perf buffer), of the address's socket before.
	const late = new InStateClock();
	t.is(late.apply(decodeBlock(block(
		change(b, TcpState.FIN_WAIT2, TcpState.CLOSE, 2_000_000_000n),
		change(b, TcpState.FIN_WAIT2, TcpState.CLOSE, 1_999_000_000n),
	), 0).transitions).length, 2);
	// A late change of the socket before does not stand for the socket there now: its own
	// same change, next, is kept.
	const before = new InStateClock();
	t.is(before.apply(decodeBlock(block(
		change(b, TcpState.CLOSE, TcpState.SYN_SENT, 3_000_000_000n),
		change(b, TcpState.SYN_SENT, TcpState.ESTABLISHED, 3_001_000_000n),
		change(b, TcpState.ESTABLISHED, TcpState.FIN_WAIT1, 3_002_000_000n),
		change(b, TcpState.FIN_WAIT1, TcpState.FIN_WAIT2, 2_500_000_000n),
		change(b, TcpState.FIN_WAIT1, TcpState.FIN_WAIT2, 3_003_000_000n),
	), 0).transitions).length, 5);
	t.is(before.repeats, 0);
});

test('a FIN_WAIT2 -> CLOSE whose peer had not closed carries the orphaned flag; others do not', t => {
	const orphan = record({oldstate: TcpState.FIN_WAIT2, newstate: TcpState.CLOSE, deltaNs: null});
	new DataView(orphan.buffer).setUint8(45, 0x4); // TCPTOP_FLAG_ORPHANED
	const clean = record({oldstate: TcpState.FIN_WAIT2, newstate: TcpState.CLOSE, deltaNs: null});
	const [first, second] = decodeBlock(block(orphan, clean), 0).transitions;
	t.is(first!.orphaned, true);
	t.is(first!.ms, null, 'the flag is not the time-known flag');
	t.is(second!.orphaned, false);
});
