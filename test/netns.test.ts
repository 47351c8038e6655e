// The same 4-tuple in two network namespaces is two connections: one here, one in a
// namespace this test creates (ip netns), both on their own loopback.
import {execFileSync} from 'node:child_process';
import {statSync} from 'node:fs';
import {ConnectionTable} from '../src/model/connection-table.js';
import {TcpState} from '../src/core/transition.js';
import {captureDuring, kernelTest} from './helpers/kernel.js';
import {closedPort} from './helpers/net.js';
import {testNamespace} from './helpers/netns.js';

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

/**
 * Two ports free here (the new namespace has nothing on any): other tests' connections use
 * ephemeral ports of this namespace all the time.
 */
async function serverAndClientPorts(): Promise<[number, number]> {
	const serverPort = await closedPort('127.0.0.1');
	let clientPort = await closedPort('127.0.0.1');
	while (clientPort === serverPort) {
		clientPort = await closedPort('127.0.0.1');
	}

	return [serverPort, clientPort];
}

/** The same connection, here and then in the namespace. */
function connectHereAndThere(namespace: string, serverPort: number, clientPort: number): void {
	execFileSync(process.execPath, ['-e', connectionScript, String(serverPort), String(clientPort)]);
	execFileSync('ip', ['netns', 'exec', namespace, process.execPath, '-e', connectionScript, String(serverPort), String(clientPort)]);
}

kernelTest('the same 4-tuple in another network namespace is a separate connection', async t => {
	const namespace = testNamespace(t, 'tuple');
	const [serverPort, clientPort] = await serverAndClientPorts();
	const {transitions} = await captureDuring({localPorts: [serverPort, clientPort]}, () => {
		connectHereAndThere(namespace, serverPort, clientPort);
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
});

kernelTest('the netns setting keeps that namespace\'s changes, in the kernel: the same connection here is left out', async t => {
	const namespace = testNamespace(t, 'only');
	const [serverPort, clientPort] = await serverAndClientPorts();
	const there = namespaceInode(`/run/netns/${namespace}`);
	const {transitions} = await captureDuring({localPorts: [serverPort, clientPort], netns: there}, () => {
		connectHereAndThere(namespace, serverPort, clientPort);
	});
	t.true(transitions.length >= 10, `${transitions.length} changes: both ends' lifecycles in the namespace`);
	t.deepEqual([...new Set(transitions.map(x => x.netns))], [there]);
});
