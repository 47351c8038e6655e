// The start-up snapshot against the kernel, with ss from iproute2 as the independent oracle:
// sockets opened before the capture starts are all found, in the states ss reports.
import {execFileSync, spawn} from 'node:child_process';
import net from 'node:net';
import {once} from 'node:events';
import {KernelSource} from '../src/capture/kernel-source.js';
import {stateName, TcpState, type ExistingSocket} from '../src/capture/transition.js';
import {kernelTest} from './helpers/kernel.js';
import {connectAndClose, listen} from './helpers/net.js';

// ss's state names, as the kernel spells them.
const fromSs: Record<string, string> = {
	ESTAB: 'ESTABLISHED',
	'SYN-SENT': 'SYN_SENT',
	'SYN-RECV': 'SYN_RECV',
	'FIN-WAIT-1': 'FIN_WAIT1',
	'FIN-WAIT-2': 'FIN_WAIT2',
	'TIME-WAIT': 'TIME_WAIT',
	UNCONN: 'CLOSE',
	'CLOSE-WAIT': 'CLOSE_WAIT',
	'LAST-ACK': 'LAST_ACK',
	LISTEN: 'LISTEN',
	CLOSING: 'CLOSING',
};

function portOf(endpoint: string): number {
	return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/** Per-state counts of the sockets with a local or remote port in `ports`, as ss -tan sees them. */
function ssCounts(ports: ReadonlySet<number>): Map<string, number> {
	const counts = new Map<string, number>();
	// ss filters itself: a busy host's full list (other tests' TIME_WAITs) can be megabytes.
	const filter = [...ports].map(port => `sport = :${port} or dport = :${port}`).join(' or ');
	for (const line of execFileSync('ss', ['-tanH', `( ${filter} )`], {encoding: 'utf8'}).trim().split('\n')) {
		const [state, , , local, peer] = line.trim().split(/\s+/);
		if (ports.has(portOf(local!)) || ports.has(portOf(peer!))) {
			const name = fromSs[state!] ?? state!;
			counts.set(name, (counts.get(name) ?? 0) + 1);
		}
	}

	return counts;
}

function snapshotCounts(sockets: readonly ExistingSocket[], ports: ReadonlySet<number>): Map<string, number> {
	const counts = new Map<string, number>();
	for (const socket of sockets) {
		if (ports.has(socket.lport) || ports.has(socket.rport)) {
			const name = stateName(socket.state);
			counts.set(name, (counts.get(name) ?? 0) + 1);
		}
	}

	return counts;
}

/** Starts a kernel source and returns the snapshot it took (stop the source when done). */
function startWithSnapshot(): {sockets: readonly ExistingSocket[]; source: KernelSource} {
	let sockets: readonly ExistingSocket[] = [];
	const source = new KernelSource();
	source.start({
		snapshot(pass) {
			sockets = pass.sockets;
		},
		batch() {},
		error() {},
	});
	return {sockets, source};
}

function sorted(counts: Map<string, number>): Array<[string, number]> {
	return [...counts].sort(([a], [b]) => a.localeCompare(b));
}

async function connect(host: string, port: number): Promise<net.Socket> {
	const socket = net.connect(port, host);
	socket.on('error', () => {});
	await once(socket, 'connect');
	return socket;
}

for (const host of ['127.0.0.1', '::1']) {
	kernelTest(`${host}: sockets opened before the start are in the snapshot, in ss's states`, async t => {
		// Established pairs, and a CLOSE_WAIT pile-up: a server that never closes what its
		// clients closed (its side in CLOSE_WAIT, the clients' in FIN_WAIT2).
		const accepted: net.Socket[] = [];
		const established = await listen(host, socket => accepted.push(socket));
		const leaky = net.createServer({allowHalfOpen: true}, socket => {
			socket.on('error', () => {});
			accepted.push(socket);
		}).listen(0, host);
		await once(leaky, 'listening');
		const leakyPort = (leaky.address() as net.AddressInfo).port;
		// TIME_WAIT leftovers: connections the client closed first.
		const finished = await listen(host);

		const clients = await Promise.all(Array.from({length: 5}, async () => connect(host, established.port)));
		const leakers = await Promise.all(Array.from({length: 7}, async () => connect(host, leakyPort)));
		for (const client of leakers) {
			client.end();
		}

		for (let i = 0; i < 3; i++) {
			await connectAndClose(host, finished.port);
		}

		await finished.settled();
		await new Promise(resolve => setTimeout(resolve, 100)); // the leaky server's sockets reach CLOSE_WAIT

		const ports = new Set([established.port, leakyPort, finished.port]);
		const {sockets, source} = startWithSnapshot();
		const expected = ssCounts(ports);
		await source.stop();

		for (const socket of [...clients, ...leakers, ...accepted]) {
			socket.destroy();
		}

		leaky.close();
		await Promise.all([established.close(), finished.close()]);

		t.deepEqual(sorted(snapshotCounts(sockets, ports)), sorted(expected));
		// What was built is really there: 3 listeners, 5 established pairs, 7 CLOSE_WAIT
		// with their 7 FIN_WAIT2 clients, 3 TIME_WAIT.
		t.deepEqual(sorted(expected), sorted(new Map([
			['LISTEN', 3], ['ESTABLISHED', 10], ['CLOSE_WAIT', 7], ['FIN_WAIT2', 7], ['TIME_WAIT', 3],
		])));
		const listener = sockets.find(socket => socket.lport === established.port && stateName(socket.state) === 'LISTEN');
		t.like(listener, {laddr: host, family: host.includes(':') ? 6 : 4});
		t.true(listener!.netns > 0 && listener!.sock > 0);
		// Every socket this process holds has it as owner; TIME_WAIT ones belong to no process.
		for (const socket of sockets.filter(socket => ports.has(socket.lport) || ports.has(socket.rport))) {
			t.is(socket.pid, stateName(socket.state) === 'TIME_WAIT' ? 0 : process.pid, stateName(socket.state));
		}
	});
}

kernelTest('the snapshot names each side\'s owner when client and server are different processes', async t => {
	const server = await listen('127.0.0.1');
	const client = spawn(process.execPath, ['-e', `
		const socket = require('node:net').connect(${server.port}, '127.0.0.1', () => console.log(socket.localPort));
		setTimeout(() => {}, 60000);
	`]);
	try {
		const [output] = await once(client.stdout, 'data') as [Buffer];
		const clientPort = Number(output.toString());
		const {sockets, source} = startWithSnapshot();
		await source.stop();

		const clientSide = sockets.find(socket => socket.lport === clientPort && socket.rport === server.port);
		const serverSide = sockets.find(socket => socket.lport === server.port && socket.rport === clientPort);
		t.like(clientSide, {pid: client.pid, comm: 'node', state: TcpState.ESTABLISHED});
		t.like(serverSide, {pid: process.pid, state: TcpState.ESTABLISHED});
	} finally {
		client.kill();
		await server.close();
	}
});
