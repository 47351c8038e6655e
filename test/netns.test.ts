// The same 4-tuple in two network namespaces is two connections: one here, one in a
// namespace this test creates (ip netns), both on their own loopback.
import {execFileSync} from 'node:child_process';
import {statSync} from 'node:fs';
import {ConnectionTable} from '../src/model/connection-table.js';
import {TcpState} from '../src/capture/transition.js';
import {captureDuring, kernelTest} from './helpers/kernel.js';
import {closedPort} from './helpers/net.js';

// Opens a connection 127.0.0.1:CLIENT -> 127.0.0.1:SERVER, holds it a moment, closes it.
const connectionScript = `
const net = require('node:net');
const [serverPort, clientPort] = process.argv.slice(1).map(Number);
const server = net.createServer(socket => socket.on('end', () => socket.end())).listen(serverPort, '127.0.0.1', () => {
	const client = net.connect({port: serverPort, host: '127.0.0.1', localAddress: '127.0.0.1', localPort: clientPort}, () => {
		setTimeout(() => client.end(), 100);
	});
	client.on('close', () => server.close());
	client.resume();
});
`;

/** A namespace's inode number, as the kernel reports it in records (ns.inum). */
function namespaceInode(path: string): number {
	return statSync(path).ino;
}

kernelTest('the same 4-tuple in another network namespace is a separate connection', async t => {
	const namespace = `tcptop-test-${process.pid}`;
	execFileSync('ip', ['netns', 'add', namespace]);
	try {
		execFileSync('ip', ['netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up']);
		// Ports free here (the new namespace has nothing on any): other tests' connections use
		// ephemeral ports of this namespace all the time.
		const serverPort = await closedPort('127.0.0.1');
		let clientPort = await closedPort('127.0.0.1');
		while (clientPort === serverPort) {
			clientPort = await closedPort('127.0.0.1');
		}

		const {transitions} = await captureDuring({localPorts: [serverPort, clientPort]}, async () => {
			execFileSync(process.execPath, ['-e', connectionScript, String(serverPort), String(clientPort)]);
			execFileSync('ip', ['netns', 'exec', namespace, process.execPath, '-e', connectionScript, String(serverPort), String(clientPort)]);
		});

		const here = namespaceInode('/proc/self/ns/net');
		const there = namespaceInode(`/run/netns/${namespace}`);
		t.not(here, there);
		const tuple = {laddr: '127.0.0.1', lport: clientPort, raddr: '127.0.0.1', rport: serverPort};
		const clientEvents = transitions.filter(x => x.lport === clientPort && x.rport === serverPort);
		t.deepEqual(new Set(clientEvents.map(x => x.netns)), new Set([here, there]));

		const table = new ConnectionTable();
		for (const transition of transitions) {
			table.apply(transition);
		}

		const mine = table.find({netns: here, ...tuple});
		const theirs = table.find({netns: there, ...tuple});
		t.truthy(mine);
		t.truthy(theirs);
		t.is(mine!.state, TcpState.TIME_WAIT);
		t.is(theirs!.state, TcpState.TIME_WAIT);
		t.is(mine!.netns, here);
		t.is(theirs!.netns, there);
	} finally {
		execFileSync('ip', ['netns', 'del', namespace]);
	}
});

kernelTest('the netns setting keeps that namespace\'s changes, in the kernel: the same connection here is left out', async t => {
	const namespace = `tcptop-test-only-${process.pid}`;
	execFileSync('ip', ['netns', 'add', namespace]);
	try {
		execFileSync('ip', ['netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up']);
		const serverPort = await closedPort('127.0.0.1');
		let clientPort = await closedPort('127.0.0.1');
		while (clientPort === serverPort) {
			clientPort = await closedPort('127.0.0.1');
		}

		const there = namespaceInode(`/run/netns/${namespace}`);
		const {transitions} = await captureDuring({localPorts: [serverPort, clientPort], netns: there}, async () => {
			execFileSync(process.execPath, ['-e', connectionScript, String(serverPort), String(clientPort)]);
			execFileSync('ip', ['netns', 'exec', namespace, process.execPath, '-e', connectionScript, String(serverPort), String(clientPort)]);
		});
		t.true(transitions.length >= 10, `${transitions.length} changes: both ends' lifecycles in the namespace`);
		t.deepEqual([...new Set(transitions.map(x => x.netns))], [there]);
	} finally {
		execFileSync('ip', ['netns', 'del', namespace]);
	}
});
