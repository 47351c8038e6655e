// Socket passes cover every network namespace on the host: two namespaces this test makes, with
// loopback connections in one and a veth pair between them, are listed as ss -tan lists them
// in each, with their owners and counters, when tcptop runs in neither.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {once} from 'node:events';
import {statSync} from 'node:fs';
import {createInterface} from 'node:readline';
import type {ExecutionContext} from 'ava';
import {run} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {ssSocketsIn, ssStatesIn} from './helpers/ss.js';

/** Bytes the first loopback client of namespace A writes: its tx_bytes, and its peer's rx_bytes. */
const written = 100_000;
const vethPort = 7100;

// a: a loopback server with three clients (the first writes `written` bytes) and a server on
// the veth address; b: two clients of that server. Each prints "ready", then holds everything
// until its stdin ends.
const holderScript = `
const net = require('node:net');
const [role, written, vethPort] = process.argv.slice(1);
const held = [];
const ready = () => setTimeout(() => process.stdout.write('ready\\n'), 200);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
const connect = (port, host, count, then) => {
	let open = 0;
	for (let i = 0; i < count; i++) {
		const client = net.connect(port, host, () => {
			held.push(client);
			if (i === 0 && role === 'a') client.write(Buffer.alloc(Number(written)));
			if (++open === count) then();
		});
	}
};
if (role === 'a') {
	const loopback = net.createServer(socket => { held.push(socket); socket.resume(); }).listen(0, '127.0.0.1', () => {
		connect(loopback.address().port, '127.0.0.1', 3, () => {
			net.createServer(socket => held.push(socket)).listen(Number(vethPort), '10.213.0.1', ready);
		});
	});
} else {
	connect(Number(vethPort), '10.213.0.1', 2, ready);
}
`;

type Row = {pid: number | null; netns: number; laddr: string; lport: number; raddr: string; rport: number; state: string; tx_bytes: number | null; rx_bytes: number | null};
type Document = {states: Record<string, number>; connections: Row[]};

function ip(...args: string[]): void {
	execFileSync('ip', args);
}

/** Runs the holder in a namespace until the test ends; resolves once it holds its connections. */
async function hold(t: ExecutionContext, namespace: string, role: 'a' | 'b'): Promise<ChildProcess> {
	const holder = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', holderScript, role, String(written), String(vethPort)], {stdio: ['pipe', 'pipe', 'inherit']});
	t.teardown(async () => {
		holder.stdin.end();
		if (holder.exitCode === null) {
			await once(holder, 'exit');
		}
	});
	const [line] = await once(createInterface({input: holder.stdout}), 'line') as [string];
	t.is(line, 'ready');
	return holder;
}

function socketsOf(rows: Row[]): string[] {
	return rows.map(row => `${row.state} ${row.laddr}:${row.lport} ${row.raddr}:${row.rport}`).sort();
}

kernelTest('passes list every namespace\'s sockets as ss does in each, with owners and counters; --netns and the netns filter take one', async t => {
	const [a, b] = ['a', 'b'].map(role => `tcptop-${role}-${process.pid}`) as [string, string];
	for (const namespace of [a, b]) {
		ip('netns', 'add', namespace);
		t.teardown(() => {
			ip('netns', 'del', namespace);
		});
		ip('-n', namespace, 'link', 'set', 'lo', 'up');
	}

	// Interface names are the namespaces' own: nothing of the host's is touched.
	ip('-n', a, 'link', 'add', 'tcptop0', 'type', 'veth', 'peer', 'name', 'tcptop1', 'netns', b);
	ip('-n', a, 'addr', 'add', '10.213.0.1/30', 'dev', 'tcptop0');
	ip('-n', b, 'addr', 'add', '10.213.0.2/30', 'dev', 'tcptop1');
	ip('-n', a, 'link', 'set', 'tcptop0', 'up');
	ip('-n', b, 'link', 'set', 'tcptop1', 'up');
	const holderA = await hold(t, a, 'a');
	const holderB = await hold(t, b, 'b');
	const inode = (namespace: string) => statSync(`/run/netns/${namespace}`).ino;

	const {code, stdout, stderr} = await run(['-b', '-n', '1', '--json', '--max-conns', '1000000']);
	t.is(code, 0, stderr);
	const {connections} = JSON.parse(stdout) as Document;
	for (const [namespace, holder, count] of [[a, holderA, 3 + 3 + 1 + 1 + 2], [b, holderB, 2]] as const) {
		const rows = connections.filter(row => row.netns === inode(namespace));
		const expected = ssSocketsIn(namespace);
		t.is(expected.length, count, `ss lists ${count} sockets in ${namespace}`);
		t.deepEqual(socketsOf(rows), expected, `the rows of ${namespace} are ss's`);
		// Every socket here is held by the namespace's holder (accepted ones included).
		t.deepEqual(new Set(rows.map(row => row.pid)), new Set([holder.pid]), `owners in ${namespace}`);
	}

	const loopback = connections.filter(row => row.netns === inode(a) && row.laddr === '127.0.0.1' && row.state === 'ESTABLISHED');
	// bytes_acked, as ss -ti shows it, counts the SYN too.
	t.true(loopback.some(row => row.tx_bytes === written + 1), 'the writer\'s counters');
	t.true(loopback.some(row => row.rx_bytes === written), 'the reader\'s counters');

	// One namespace: its counts, exact; only its rows, by name or inode.
	const one = await run(['-b', '-n', '1', '--json', '--netns', b]);
	t.is(one.code, 0, one.stderr);
	const document = JSON.parse(one.stdout) as Document;
	t.deepEqual(document.states, ssStatesIn(b));
	t.deepEqual(socketsOf(document.connections), ssSocketsIn(b));
	const filtered = await run(['-b', '-n', '1', '--json', 'netns', '=', a]);
	t.is(filtered.code, 0, filtered.stderr);
	t.deepEqual(socketsOf((JSON.parse(filtered.stdout) as Document).connections), ssSocketsIn(a));
});
