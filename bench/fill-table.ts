// A connection table filled for the benchmarks: `connections` established connections on
// distinct tuples, a third of them gone on to CLOSE_WAIT, with kernel counters sampled by two
// counters passes a second apart.
import type {SocketPass} from '../src/core/source.js';
import {TcpState, type ExistingSocket} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';

export function fillTable(connections: number): ConnectionTable {
	const {SYN_RECV, ESTABLISHED, CLOSE_WAIT} = TcpState;
	const table = new ConnectionTable({maxConnections: connections});
	const tupleOf = (index: number) => ({
		netns: 1, laddr: `10.0.${(index >> 8) & 255}.${index & 255}`, lport: 1024 + (index % 50_000),
		raddr: `172.16.${index % 200}.${index % 250}`, rport: [443, 80, 5432, 6379][index % 4]!,
	});
	for (let index = 0; index < connections; index++) {
		const base = {wallMs: 0, sock: index, pid: 1000 + (index % 500), tid: 0, comm: `worker-${index % 37}`, family: 4 as const, ...tupleOf(index)};
		table.apply({...base, monoMs: index / 10, oldstate: SYN_RECV, newstate: ESTABLISHED, ms: null});
		if (index % 3 === 0) {
			table.apply({...base, monoMs: (index / 10) + 500, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, ms: null});
		}
	}

	// As a counters pass lists a connection: its counters, no holder (complete passes name those).
	const counters = (monoMs: number, figures: (index: number) => ExistingSocket['figures']): SocketPass => ({
		monoMs, wallMs: 0, namespaces: [1], owners: false, complete: false,
		sockets: Array.from({length: connections}, (_, index): ExistingSocket => ({
			monoMs, wallMs: 0, sock: index, family: 4, ...tupleOf(index), state: index % 3 === 0 ? CLOSE_WAIT : ESTABLISHED, pid: 0, comm: '', figures: figures(index),
		})),
	});
	table.applyPass(counters(10_000, index => ({bytesAcked: index * 7, bytesReceived: index * 3, srttUs: 50 + (index % 9000), retransmits: index % 5})));
	table.applyPass(counters(11_000, index => ({bytesAcked: index * 13, bytesReceived: index * 5, srttUs: 60 + (index % 9000), retransmits: index % 7})));
	return table;
}
