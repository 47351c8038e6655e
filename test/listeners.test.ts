// Listener health against the kernel: a server with listen(4) that stops accepting, in a
// network namespace of the test's own, and 40 clients connecting to it. ss (Recv-Q, Send-Q,
// skmem's drops) is the oracle, and the namespace's /proc/net/netstat a bound.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {once} from 'node:events';
import {createInterface} from 'node:readline';
import {setTimeout as delay} from 'node:timers/promises';
import test, {type ExecutionContext} from 'ava';
import {loadAddon, PassKind} from '../src/capture/addon.js';
import {decodePass} from '../src/capture/decode.js';
import {KernelSource} from '../src/capture/kernel-source.js';
import {namedNamespaceInode} from '../src/capture/net-namespaces.js';
import {parseNetCounters} from '../src/capture/net-counters.js';
import type {NetCounters, SocketPass} from '../src/core/source.js';
import {TcpState} from '../src/core/transition.js';
import {run} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {testNamespace} from './helpers/netns.js';

const clients = 40;

// A listener that never accepts: its accept queue fills (backlog + 1), then the kernel drops
// every SYN, and each client's retransmitted SYN again (1 s, 3 s, 7 s after the first).
const listenerScript = `
import socket, sys, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(4)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

const clientsScript = `
const net = require('node:net');
const [port, count] = process.argv.slice(1).map(Number);
for (let i = 0; i < count; i++) net.connect(port, '127.0.0.1').on('error', () => {});
process.stdout.write('started\\n');
process.stdin.resume().on('end', () => process.exit(0));
`;

function inNamespace(namespace: string, command: string[]): ChildProcess {
	return spawn('ip', ['netns', 'exec', namespace, ...command], {stdio: ['pipe', 'pipe', 'inherit']});
}

async function firstLine(child: ChildProcess): Promise<string> {
	const [line] = await once(createInterface({input: child.stdout!}), 'line') as [string];
	return line;
}

function netCountersIn(namespace: string): NetCounters {
	const read = (file: string) => execFileSync('ip', ['netns', 'exec', namespace, 'cat', file], {encoding: 'utf8'});
	const counts = parseNetCounters(read('/proc/net/snmp'), read('/proc/net/netstat'));
	if (!counts) {
		throw new Error('no TCP counters in /proc/net/snmp and /proc/net/netstat');
	}

	return counts;
}

/**
 * ss's view of the listener: Recv-Q (the accept queue), Send-Q (the backlog), skmem's drops;
 * and of its waiting clients, each one's retransmits (ss -ti's retrans:N/TOTAL).
 */
function ssListener(namespace: string, port: number): {queue: number; backlog: number; drops: number; synRetransmits: number[]} {
	const ss = (...args: string[]) => execFileSync('ip', ['netns', 'exec', namespace, 'ss', ...args], {encoding: 'utf8'});
	const text = ss('-Hltnm', `sport = :${port}`);
	const [, queue, backlog] = /^LISTEN\s+(\d+)\s+(\d+)/m.exec(text) ?? [];
	const [, drops] = /\bd(\d+)\)/.exec(text) ?? [];
	if (queue === undefined || drops === undefined) {
		throw new Error(`ss did not list the listener: ${text}`);
	}

	const connects = ss('-Htni', 'state', 'syn-sent', `dport = :${port}`);
	const synRetransmits = [...connects.matchAll(/\bretrans:\d+\/(\d+)/g)].map(match => Number(match[1]));
	return {queue: Number(queue), backlog: Number(backlog), drops: Number(drops), synRetransmits};
}

async function fullListener(t: ExecutionContext, label: string) {
	const namespace = testNamespace(t, label);
	const before = netCountersIn(namespace);
	const server = inNamespace(namespace, ['python3', '-c', listenerScript]);
	t.teardown(() => server.kill());
	const port = Number(await firstLine(server));
	const connecting = inNamespace(namespace, [process.execPath, '-e', clientsScript, String(port), String(clients)]);
	t.teardown(() => connecting.kill());
	await firstLine(connecting);
	// Past the first SYNs and their first retransmits (1 s), before the next (3 s).
	await delay(1800);
	return {namespace, port, before};
}

kernelTest('a listener that stops accepting: its queue and drops as ss shows them, drops as the namespace counts them', async t => {
	const {namespace, port, before} = await fullListener(t, 'listen');
	// Drops come in rounds (the clients' SYN retransmits): ss before and after the pass bound it.
	const earlier = ssListener(namespace, port);
	let snapshot: SocketPass | undefined;
	const source = new KernelSource();
	source.start({snapshot(pass) {
		snapshot = pass;
	}, batch() {}, error() {}});
	const oracle = ssListener(namespace, port);
	await source.stop();
	const after = netCountersIn(namespace);

	const listener = snapshot!.sockets.find(socket => socket.state === TcpState.LISTEN && socket.lport === port && socket.netns !== snapshot!.namespaces[0]);
	t.truthy(listener, 'the pass found the listener in the test namespace');
	t.deepEqual(listener!.queue && {queue: listener!.queue.acceptQueue, backlog: listener!.queue.acceptBacklog}, {queue: oracle.queue, backlog: oracle.backlog});
	t.is(oracle.queue, 5, 'ss: a backlog of 4 holds 5');
	t.is(oracle.backlog, 4);
	t.true(listener!.queue!.drops > 0, 'SYNs were dropped');
	const {drops} = listener!.queue!;
	t.true(drops >= earlier.drops && drops <= oracle.drops, `drops as ss -m shows them: ${earlier.drops} <= ${drops} <= ${oracle.drops}`);
	// The namespace's only listener: the namespace's count of listen drops holds its drops.
	t.true(listener!.queue!.drops <= after.listenDrops - before.listenDrops, `within the namespace's ListenDrops (${after.listenDrops - before.listenDrops})`);
	t.true(after.listenOverflows - before.listenOverflows > 0, 'the namespace counted accept queue overflows');
	t.is(listener!.queue!.synQueue, 0, 'no handshake under way: the kernel drops the SYNs');
	// The clients left waiting retransmit their SYNs: a connect's retransmits are its SYN's.
	const connects = snapshot!.sockets.filter(socket => socket.state === TcpState.SYN_SENT && socket.rport === port);
	t.is(connects.length, clients - 5);
	t.true(connects.every(socket => (socket.figures?.retransmits ?? 0) >= 1), 'every waiting connect retransmitted its SYN');
	const sum = (retransmits: number[]) => retransmits.reduce((total, count) => total + count, 0);
	const tcptop = sum(connects.map(socket => socket.figures!.retransmits));
	t.true(tcptop >= sum(earlier.synRetransmits) && tcptop <= sum(oracle.synRetransmits), `retransmits as ss -ti shows them: ${sum(earlier.synRetransmits)} <= ${tcptop} <= ${sum(oracle.synRetransmits)}`);
});

kernelTest('-b --json: the listener\'s queue, in trouble, and the drops it makes while tcptop runs; the namespace\'s own counts', async t => {
	const {namespace, port} = await fullListener(t, 'listen-json');
	// Three prints a second apart: the clients' second SYN retransmits (3 s) fall in them.
	const before = netCountersIn(namespace);
	const {code, stdout, stderr} = await run(['-b', '-n', '4', '-d', '1', '--json', '--netns', namespace, `sport = ${port}`]);
	const after = netCountersIn(namespace);
	t.is(code, 0, stderr);
	type Counted = {count: number} | null;
	const documents = stdout.trim().split('\n').map(line => JSON.parse(line) as {connections: Array<Record<string, unknown>>; listen_drops: Counted; syn_retransmits: Counted});
	// --netns: the header's counts are that namespace's, not tcptop's own.
	const listenDrops = documents.reduce((sum, document) => sum + document.listen_drops!.count, 0);
	t.true(listenDrops > 0 && listenDrops <= after.listenDrops - before.listenDrops, `listen drops ${listenDrops}, the namespace's ${after.listenDrops - before.listenDrops}`);
	const synRetransmits = documents.reduce((sum, document) => sum + document.syn_retransmits!.count, 0);
	t.true(synRetransmits > 0 && synRetransmits <= after.synRetransmits - before.synRetransmits, `SYN retransmits ${synRetransmits}, the namespace's ${after.synRetransmits - before.synRetransmits}`);
	const listeners = documents.map(document => document.connections.find(connection => connection.state === 'LISTEN'));
	type Listener = {accept_queue: number; accept_backlog: number; syn_queue: number; drops: number; drops_per_s: number};
	const queues = listeners.map(listener => listener!.listener as Listener);
	for (const [index, listener] of listeners.entries()) {
		t.like(listener, {lport: port});
		t.like(queues[index], {accept_queue: 5, accept_backlog: 4, syn_queue: 0});
	}

	const drops = queues.map(queue => queue.drops);
	t.is(drops[0], 0, 'counted from when tcptop started');
	t.true(drops.at(-1)! > 0, `the retransmitted SYNs dropped while it ran: ${drops.join(', ')}`);
	t.true(queues.some(queue => queue.drops_per_s > 0));
	// Elsewhere null.
	const client = documents[0]!.connections.find(connection => connection.state !== 'LISTEN');
	t.like(client, {listener: null});
});

test('the counters are read by name from /proc/net/snmp\'s Tcp and /proc/net/netstat\'s TcpExt lines; files without them give none', t => {
	const snmp = [
		'Ip: Forwarding DefaultTTL',
		'Ip: 1 64',
		'Tcp: RtoAlgorithm ActiveOpens RetransSegs InErrs',
		'Tcp: 1 50 812 0',
		'',
	].join('\n');
	const netstat = [
		'TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPSynRetrans',
		'TcpExt: 0 17 23 99',
		'IpExt: InNoRoutes InTruncatedPkts',
		'IpExt: 0 0',
		'',
	].join('\n');
	t.deepEqual(parseNetCounters(snmp, netstat), {listenOverflows: 17, listenDrops: 23, retransmits: 812, synRetransmits: 99});
	t.is(parseNetCounters('Ip: Forwarding\nIp: 1\n', netstat), undefined, 'no Tcp section');
	t.is(parseNetCounters(snmp, 'TcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\n'), undefined, 'TCPSynRetrans missing');
	t.is(parseNetCounters(snmp, netstat.replace('0 17 23 99', '0 x 23 99')), undefined, 'not a count');
});

kernelTest('a listeners pass lists the listeners with their queues, and nothing else; a counters pass lists them too', async t => {
	const {namespace, port} = await fullListener(t, 'listen-pass');
	const netns = namedNamespaceInode(namespace)!;
	const passes: SocketPass[] = [];
	let delivered: () => void = () => {};
	const {Capture} = loadAddon();
	const capture = new Capture({transport: 'ringbuf', family: 0, pid: 0, localPorts: [], remotePorts: [], acceptOwners: false, netns}, (block, _dropped, _lost, _errno, passMs) => {
		if (passMs > 0) {
			const {sockets, counts} = decodePass(block, 0);
			passes.push({monoMs: passMs, wallMs: 0, sockets, counts, namespaces: [], owners: false, complete: false});
			delivered();
		}
	}, () => {});
	t.teardown(() => {
		capture.stop();
	});
	const pass = async (kind: PassKind) => {
		const done = new Promise<void>(resolve => {
			delivered = resolve;
		});
		capture.requestPass(kind);
		await done;
		return passes.at(-1)!;
	};

	capture.snapshot();
	const earlier = ssListener(namespace, port);
	const listeners = await pass(PassKind.listeners);
	const later = ssListener(namespace, port);
	t.deepEqual(listeners.sockets.map(socket => socket.state), [TcpState.LISTEN], 'the listener, not its 5 connections nor the 35 connects');
	t.is(listeners.counts, undefined, 'nothing counted');
	const {queue} = listeners.sockets[0]!;
	t.like(queue, {acceptQueue: 5, acceptBacklog: 4});
	t.true(queue!.drops >= earlier.drops && queue!.drops <= later.drops, `drops as ss -m shows them: ${earlier.drops} <= ${queue!.drops} <= ${later.drops}`);
	// A counters pass sends the listener every time, changed or not.
	for (let index = 0; index < 2; index++) {
		const counters = await pass(PassKind.counters);
		t.like(counters.sockets.find(socket => socket.state === TcpState.LISTEN), {lport: port, queue: {acceptQueue: 5, acceptBacklog: 4}});
		t.truthy(counters.counts, 'a counters pass counts');
	}
});

kernelTest('a listeners pass of a namespace without listeners is an empty block JavaScript can read', async t => {
	const namespace = testNamespace(t, 'listen-none');
	const netns = namedNamespaceInode(namespace)!;
	const {Capture} = loadAddon();
	let delivered: (block: ArrayBuffer) => void = () => {};
	const capture = new Capture({transport: 'ringbuf', family: 0, pid: 0, localPorts: [], remotePorts: [], acceptOwners: false, netns}, (block, _dropped, _lost, _errno, passMs) => {
		if (passMs > 0) {
			delivered(block);
		}
	}, () => {});
	t.teardown(() => {
		capture.stop();
	});
	const passed = new Promise<ArrayBuffer>(resolve => {
		delivered = resolve;
	});
	capture.requestPass(PassKind.listeners);
	const block = await passed;
	t.is(block.byteLength, 0);
	// A detached buffer (what an external buffer without data is) cannot be read at all.
	t.deepEqual(decodePass(block, 0).sockets, []);
});

// A SYN from an address no one has (10.214.1.77, next to the sender's 10.214.1.1): the listener
// answers, no neighbour answers for it, and the SYN-ACK is retransmitted (1 s, then 3 s later).
const synScript = `
import socket, struct, sys
src, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3])
def checksum(data):
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xffff)
    return ~(total + (total >> 16)) & 0xffff
tcp = struct.pack('!HHLLBBHHH', 40000, dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(tcp))
tcp = tcp[:16] + struct.pack('!H', checksum(pseudo + tcp)) + tcp[18:]
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).sendto(ip + tcp, (dst, 0))
`;

const openListenerScript = `
import socket, sys
s = socket.socket()
s.bind(('10.214.1.2', 7400))
s.listen(16)
print('listening', flush=True)
sys.stdin.read()
`;

kernelTest('a listener whose SYN-ACK is never answered: its SYN-ACK retransmits, as the namespace counts them', async t => {
	const sender = testNamespace(t, 'synack-a');
	const receiver = testNamespace(t, 'synack-b');
	const [here, there] = [`sa${process.pid % 100_000}a`, `sa${process.pid % 100_000}b`];
	execFileSync('ip', ['link', 'add', here, 'netns', sender, 'type', 'veth', 'peer', 'name', there, 'netns', receiver]);
	execFileSync('ip', ['-n', sender, 'addr', 'add', '10.214.1.1/24', 'dev', here]);
	execFileSync('ip', ['-n', receiver, 'addr', 'add', '10.214.1.2/24', 'dev', there]);
	execFileSync('ip', ['-n', sender, 'link', 'set', here, 'up']);
	execFileSync('ip', ['-n', receiver, 'link', 'set', there, 'up']);
	const server = inNamespace(receiver, ['python3', '-c', openListenerScript]);
	t.teardown(() => server.kill());
	await firstLine(server);
	const before = netCountersIn(receiver);
	execFileSync('ip', ['netns', 'exec', sender, 'python3', '-c', synScript, '10.214.1.77', '10.214.1.2', '7400']);
	const {code, stdout, stderr} = await run(['-b', '-n', '3', '-d', '1', '--json', '--netns', receiver, 'sport = 7400']);
	const after = netCountersIn(receiver);
	t.is(code, 0, stderr);
	type Listener = {syn_queue: number; synack_retransmits: number};
	const listeners = stdout.trim().split('\n').map(line => (JSON.parse(line) as {connections: Array<{listener: Listener | null}>}).connections[0]!.listener!);
	t.is(listeners[0]!.syn_queue, 1, 'the handshake under way');
	const last = listeners.at(-1)!.synack_retransmits;
	t.true(last >= 1 && last <= after.synRetransmits - before.synRetransmits, `${last} SYN-ACKs retransmitted, the namespace counts ${after.synRetransmits - before.synRetransmits}`);
});
