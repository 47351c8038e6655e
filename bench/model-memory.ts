// Heap cost per tracked connection: a table capped at the connection count, filled with
// established connections (each through CLOSE -> SYN_SENT with lport 0, then SYN_SENT ->
// ESTABLISHED, so the lport-0 join runs too), measured as growth of the JS heap plus array
// buffers between two full collections.
//
//   node --expose-gc --import=tsx bench/model-memory.ts [connections=1000000]
import type {Transition} from '../src/core/transition.js';
import {TcpState} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';

const connections = Number(process.argv[2] ?? 1_000_000);
const gc = globalThis.gc;
if (gc === undefined) {
	throw new Error('run with --expose-gc');
}

function used(): number {
	gc!();
	gc!();
	const {heapUsed, arrayBuffers} = process.memoryUsage();
	return heapUsed + arrayBuffers;
}

function transition(index: number, oldstate: number, newstate: number, lport: number): Transition {
	// Fresh strings per event, as a decoder makes them: 65,536 clients per server address.
	return {
		monoMs: index, wallMs: index, sock: 0x7F00_0000_0000 + (index * 2048), netns: 4_026_531_840,
		pid: 4242, tid: 4242, comm: `client${index % 8}`, family: 4,
		laddr: `10.${(index >> 24) & 255}.${(index >> 16) & 255}.1`, lport,
		raddr: `192.168.${(index >> 8) & 255}.${index & 255}`, rport: 443,
		oldstate, newstate, ms: null,
	};
}

const before = used();
const table = new ConnectionTable({maxConnections: connections});
for (let index = 0; index < connections; index++) {
	table.apply(transition(index, TcpState.CLOSE, TcpState.SYN_SENT, 0));
	table.apply(transition(index, TcpState.SYN_SENT, TcpState.ESTABLISHED, 1024 + (index % 60_000)));
}

const after = used();
console.log(`connections: ${table.size.toLocaleString('en-US')} (evictions ${table.evictions})`);
console.log(`heap + array buffers growth: ${((after - before) / 2 ** 20).toFixed(1)} MiB = ${((after - before) / connections).toFixed(0)} bytes per connection`);
