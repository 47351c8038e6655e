// A connection table filled for the benchmarks: `connections` established connections on
// distinct tuples, a third of them gone on to CLOSE_WAIT, with kernel counters sampled by two
// counters passes a second apart.
import type {SocketPass} from '../src/core/source.js';
import {TcpState, type ExistingSocket} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';

export function fillTable(connections: number): ConnectionTable {
	const {SYN_RECV, ESTABLISHED, CLOSE_WAIT} = TcpState;
	const table = new ConnectionTable({maxConnections: connections});
	const first: ExistingSocket[] = [];
	const second: ExistingSocket[] = [];
	for (let index = 0; index < connections; index++) {
		const tuple = {
			netns: 1, laddr: `10.0.${(index >> 8) & 255}.${index & 255}`, lport: 1024 + (index % 50_000),
			raddr: `172.16.${index % 200}.${index % 250}`, rport: [443, 80, 5432, 6379][index % 4]!,
		};
		const base = {wallMs: 0, sock: index, pid: 1000 + (index % 500), tid: 0, comm: `worker-${index % 37}`, family: 4 as const, ...tuple};
		table.apply({...base, monoMs: index / 10, oldstate: SYN_RECV, newstate: ESTABLISHED, ms: null});
		const state = index % 3 === 0 ? CLOSE_WAIT : ESTABLISHED;
		if (state === CLOSE_WAIT) {
			table.apply({...base, monoMs: (index / 10) + 500, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, ms: null});
		}

		// As a counters pass lists a connection: its counters, no holder (complete passes name those).
		const socket = {...base, state, pid: 0, comm: ''};
		first.push({...socket, monoMs: 10_000, figures: {bytesAcked: index * 7, bytesReceived: index * 3, srttUs: 50 + (index % 9000), retransmits: index % 5}});
		second.push({...socket, monoMs: 11_000, figures: {bytesAcked: index * 13, bytesReceived: index * 5, srttUs: 60 + (index % 9000), retransmits: index % 7}});
	}

	const counters = (monoMs: number, sockets: ExistingSocket[]): SocketPass => ({monoMs, wallMs: 0, sockets, namespaces: [1], owners: false, complete: false});
	table.applyPass(counters(10_000, first));
	table.applyPass(counters(11_000, second));
	return table;
}
