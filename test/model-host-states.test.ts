// The table's per-state counts are the host's: the kernel's counts from the last socket pass,
// moved along by the changes seen since, whatever the table has room for.
import test from 'ava';
import type {SocketPass} from '../src/core/source.js';
import {TcpState, type Transition} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {existing} from './helpers/recording.js';

const {CLOSE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, LISTEN} = TcpState;
const here = 4_026_531_840;
const elsewhere = 4_026_532_000;

function pass(fields: Partial<SocketPass> & {monoMs: number}): SocketPass {
	return {wallMs: 1.7e12 + fields.monoMs, sockets: [], namespaces: [here], owners: false, complete: false, ...fields};
}

function counts(byState: Record<number, number>): number[] {
	const list = Array.from({length: 13}, () => 0);
	for (const [state, count] of Object.entries(byState)) {
		list[Number(state)] = count;
	}

	return list;
}

/** Counts of the own namespace only, as a counters pass carries them. */
function counted(byState: Record<number, number>, netns = here): SocketPass['counts'] {
	return [{netns, states: counts(byState)}];
}

let nextPort = 30_000;
function change(oldstate: number, newstate: number, monoMs: number, netns = here): Transition {
	const lport = nextPort++;
	return {
		monoMs, wallMs: 1.7e12 + monoMs, sock: lport * 64, netns, family: 4, laddr: '127.0.0.1', lport, raddr: '127.0.0.1', rport: 443,
		pid: 0, tid: 0, comm: '', oldstate, newstate, ms: null,
	};
}

test('a pass\'s counts stand for the host however few rows the table keeps', t => {
	const table = new ConnectionTable({maxConnections: 2});
	table.applyPass(pass({monoMs: 1000, counts: counted({[ESTABLISHED]: 500, [LISTEN]: 3, [TIME_WAIT]: 70})}));
	t.is(table.countInState(ESTABLISHED), 500);
	t.is(table.countInState(LISTEN), 3);
	t.is(table.countInState(TIME_WAIT), 70);
	t.is(table.size, 0);
});

test('changes after the pass move the counts, beyond the cap, as the kernel moves its sockets', t => {
	const table = new ConnectionTable({maxConnections: 2});
	table.applyPass(pass({monoMs: 1000, counts: counted({[ESTABLISHED]: 10, [FIN_WAIT2]: 2, [LISTEN]: 1})}));
	for (let i = 0; i < 3; i++) {
		table.apply(change(ESTABLISHED, FIN_WAIT1, 1001 + i));
	}

	table.apply(change(FIN_WAIT2, CLOSE, 1010)); // the kernel keeps it as a timewait socket
	table.apply(change(LISTEN, SYN_RECV, 1011)); // a passive open: the listener stays
	table.apply(change(CLOSE, SYN_SENT, 1012));
	table.apply(change(ESTABLISHED, CLOSE, 1013)); // a reset
	table.apply(change(ESTABLISHED, FIN_WAIT1, 999)); // before the pass: in its counts already

	t.is(table.countInState(ESTABLISHED), 6);
	t.is(table.countInState(FIN_WAIT1), 3);
	t.is(table.countInState(FIN_WAIT2), 1);
	t.is(table.countInState(TIME_WAIT), 1);
	t.is(table.countInState(LISTEN), 1);
	t.is(table.countInState(SYN_RECV), 1);
	t.is(table.countInState(SYN_SENT), 1);
	t.true(table.evictions > 0);
	t.true(table.size <= 2);
});

test('the next pass replaces what changes could not tell (a TIME_WAIT that expired)', t => {
	const table = new ConnectionTable();
	table.applyPass(pass({monoMs: 1000, counts: counted({[TIME_WAIT]: 4})}));
	table.apply(change(FIN_WAIT2, CLOSE, 1500));
	t.is(table.countInState(TIME_WAIT), 5);
	table.applyPass(pass({monoMs: 2000, counts: counted({[TIME_WAIT]: 2})}));
	t.is(table.countInState(TIME_WAIT), 2);
});

test('rows of another namespace, which passes do not walk, are counted as rows', t => {
	const table = new ConnectionTable();
	table.applyPass(pass({monoMs: 1000, counts: counted({[ESTABLISHED]: 5})}));
	table.apply(change(CLOSE, SYN_SENT, 1100, elsewhere));
	table.apply(change(SYN_RECV, ESTABLISHED, 1200, elsewhere));
	t.is(table.countInState(ESTABLISHED), 5 + 1);
	t.is(table.countInState(SYN_SENT), 1);
});

test('a pass over several namespaces covers each: their changes move the counts, a namespace born since is counted by rows', t => {
	const table = new ConnectionTable();
	const third = elsewhere + 1;
	table.applyPass(pass({monoMs: 1000, namespaces: [here, elsewhere], complete: true, counts: [
		{netns: here, states: counts({[ESTABLISHED]: 4})}, {netns: elsewhere, states: counts({[ESTABLISHED]: 3})},
	]}));
	table.apply(change(ESTABLISHED, FIN_WAIT1, 1100, elsewhere));
	table.apply(change(ESTABLISHED, FIN_WAIT1, 1100, here));
	t.is(table.countInState(ESTABLISHED), 5, 'a change in either namespace moves the kernel\'s counts');
	t.is(table.countInState(FIN_WAIT1), 2);
	table.apply(change(CLOSE, SYN_SENT, 1200, third));
	table.apply(change(SYN_SENT, ESTABLISHED, 1201, third));
	t.is(table.countInState(ESTABLISHED), 6, 'the third namespace\'s row on top');
	// A counters pass counts its own namespace again; the others keep theirs, moved along.
	table.apply(change(ESTABLISHED, CLOSE, 1300, here));
	table.applyPass(pass({monoMs: 1400, counts: counted({[ESTABLISHED]: 2, [FIN_WAIT1]: 1})}));
	t.is(table.countInState(ESTABLISHED), 2 + 2 + 1);
	table.apply(change(ESTABLISHED, CLOSE, 1350, elsewhere));
	t.is(table.countInState(ESTABLISHED), 2 + 1 + 1, 'a change after the other namespace\'s count moves it');
	// The next complete pass walked the third namespace too: its row is in the kernel's counts now, not on top.
	table.applyPass(pass({monoMs: 2000, namespaces: [here, elsewhere, third], complete: true, counts: [
		{netns: here, states: counts({[ESTABLISHED]: 3, [FIN_WAIT1]: 1})}, {netns: elsewhere, states: counts({[ESTABLISHED]: 2, [FIN_WAIT1]: 1})},
		{netns: third, states: counts({[ESTABLISHED]: 1})},
	]}));
	t.is(table.countInState(ESTABLISHED), 6);
	t.is(table.countInState(FIN_WAIT1), 2);
	// A namespace a complete pass no longer finds is gone: its rows count on their own.
	table.applyPass(pass({monoMs: 3000, namespaces: [here, elsewhere], complete: true, counts: [
		{netns: here, states: counts({[ESTABLISHED]: 3})}, {netns: elsewhere, states: counts({[ESTABLISHED]: 2})},
	]}));
	t.is(table.countInState(ESTABLISHED), 3 + 2 + 1, 'the third namespace\'s row, not its old count');
});

test('a recorded pass without counts: a complete one is counted from its list, a counters pass leaves them', t => {
	const table = new ConnectionTable({maxConnections: 1});
	const sockets = [
		existing({sock: 1, state: ESTABLISHED, lport: 1}), existing({sock: 2, state: ESTABLISHED, lport: 2}),
		existing({sock: 3, state: TIME_WAIT, lport: 3}),
	];
	table.applyPass(pass({monoMs: 1000, sockets, complete: true}));
	t.is(table.countInState(ESTABLISHED), 2);
	t.is(table.countInState(TIME_WAIT), 1);
	table.applyPass(pass({monoMs: 2000, sockets: sockets.slice(0, 1)}));
	t.is(table.countInState(ESTABLISHED), 2);
});

test('before any pass, the counts are the table\'s rows', t => {
	const table = new ConnectionTable();
	table.apply(change(CLOSE, SYN_SENT, 1000));
	t.is(table.countInState(SYN_SENT), 1);
	t.is(table.countInState(ESTABLISHED), 0);
});

test('a TIME_WAIT is counted until the kernel\'s TIME_WAIT length is over, at the latest', t => {
	const table = new ConnectionTable({timeWaitMs: 60_000});
	table.applyPass(pass({monoMs: 1000, counts: counted({[TIME_WAIT]: 3})}));
	table.apply(change(FIN_WAIT2, CLOSE, 30_000));
	table.sweep(60_000);
	t.is(table.countInState(TIME_WAIT), 4);
	table.sweep(61_000);
	t.is(table.countInState(TIME_WAIT), 1, 'those the pass found are over 60 s after it');
	table.sweep(90_100);
	t.is(table.countInState(TIME_WAIT), 0);
});

test('an orphaned FIN_WAIT2 stays counted in FIN_WAIT2 until tcp_fin_timeout, a clean close goes to TIME_WAIT', t => {
	const table = new ConnectionTable({finTimeoutMs: 20_000});
	table.applyPass(pass({monoMs: 1000, counts: counted({[FIN_WAIT2]: 2})}));
	table.apply({...change(FIN_WAIT2, CLOSE, 1500), orphaned: true});
	table.apply(change(FIN_WAIT2, CLOSE, 1500));
	t.is(table.countInState(FIN_WAIT2), 1, 'the orphan is still a FIN_WAIT2 on the host');
	t.is(table.countInState(TIME_WAIT), 1);
	table.sweep(1500 + 20_100);
	t.is(table.countInState(FIN_WAIT2), 0, 'gone once tcp_fin_timeout is over');
	t.is(table.countInState(TIME_WAIT), 1);
});
