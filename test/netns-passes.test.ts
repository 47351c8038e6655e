// Socket passes cover every network namespace on the host: two namespaces this test makes, with
// loopback connections in one and a veth pair between them, are listed as ss -tan lists them
// in each, with their owners and counters, when tcptop runs in neither; counters passes follow
// their connections' counters, through either walk.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {once} from 'node:events';
import {statSync} from 'node:fs';
import {createInterface} from 'node:readline';
import {setTimeout as delay} from 'node:timers/promises';
import type {ExecutionContext} from 'ava';
import {KernelSource} from '../src/capture/kernel-source.js';
import {namespaceNamer} from '../src/capture/net-namespaces.js';
import {run, start} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {testNamespace} from './helpers/netns.js';
import {ssSocketsIn, ssStatesIn} from './helpers/ss.js';

/** Bytes the first loopback client of namespace A writes: its tx_bytes, and its peer's rx_bytes. */
const written = 100_000;
const vethPort = 7100;

// a: a loopback server with three clients (the first writes `written` bytes, and as many again
// for each line its stdin reads) and a server on the veth address (unless its port is 0); b: two
// clients of that server; v6: a server on ::1 and one client. Each prints "ready", then holds
// everything until its stdin ends.
const holderScript = `
const net = require('node:net');
const [role, written, vethPort] = process.argv.slice(1);
const held = [];
const ready = () => setTimeout(() => process.stdout.write('ready\\n'), 200);
let writer;
process.stdin.on('data', () => writer.write(Buffer.alloc(Number(written))));
process.stdin.on('end', () => process.exit(0));
const connect = (port, host, count, then) => {
	let open = 0;
	for (let i = 0; i < count; i++) {
		const client = net.connect(port, host, () => {
			held.push(client);
			if (i === 0 && role === 'a') {
				writer = client;
				client.write(Buffer.alloc(Number(written)));
			}
			if (++open === count) then();
		});
	}
};
if (role === 'a') {
	const loopback = net.createServer(socket => { held.push(socket); socket.resume(); }).listen(0, '127.0.0.1', () => {
		connect(loopback.address().port, '127.0.0.1', 3, () => {
			if (vethPort === '0') ready();
			else net.createServer(socket => held.push(socket)).listen(Number(vethPort), '10.213.0.1', ready);
		});
	});
} else if (role === 'v6') {
	const server = net.createServer(socket => held.push(socket)).listen(0, '::1', () => connect(server.address().port, '::1', 1, ready));
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
async function hold(t: ExecutionContext, namespace: string, role: 'a' | 'b' | 'v6', port = vethPort): Promise<ChildProcess> {
	const holder = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', holderScript, role, String(written), String(port)], {stdio: ['pipe', 'pipe', 'inherit']});
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
	const [a, b] = [testNamespace(t, 'a'), testNamespace(t, 'b')];

	// Interface names are the namespaces' own: nothing of the host's is touched.
	ip('-n', a, 'link', 'add', 'tcptop0', 'type', 'veth', 'peer', 'name', 'tcptop1', 'netns', b);
	ip('-n', a, 'addr', 'add', '10.213.0.1/30', 'dev', 'tcptop0');
	ip('-n', b, 'addr', 'add', '10.213.0.2/30', 'dev', 'tcptop1');
	ip('-n', a, 'link', 'set', 'tcptop0', 'up');
	ip('-n', b, 'link', 'set', 'tcptop1', 'up');
	const holderA = await hold(t, a, 'a');
	const holderB = await hold(t, b, 'b');
	const inode = (namespace: string) => statSync(`/run/netns/${namespace}`).ino;
	const named = namespaceNamer();
	t.deepEqual([named(inode(a)), named(inode(b))], [a, b], 'the names the detail view gives');

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

	// Later counters passes follow the other namespaces' connections too.
	const live = start(['-b', '-d', '1', '--json', '--max-conns', '1000000']);
	t.teardown(() => live.kill('SIGTERM'));
	const documents = createInterface({input: live.stdout});
	let printed = 0;
	let followed = false;
	for await (const line of documents) {
		if (printed++ === 0) {
			holderA.stdin!.write('write\n');
			continue;
		}

		// Every fifth pass walks every namespace's tables: the ones between must follow it.
		if (printed > 4) {
			break;
		}

		const rows = (JSON.parse(line) as Document).connections.filter(row => row.netns === inode(a));
		if (rows.some(row => row.tx_bytes === (2 * written) + 1) && rows.some(row => row.rx_bytes === 2 * written)) {
			followed = true;
			break;
		}
	}

	t.true(followed, 'the second write is counted by the counters passes that follow it');

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

for (const foreignWalk of ['tables', 'files'] as const) {
	kernelTest(`counters passes follow another namespace's connections through its ${foreignWalk}`, async t => {
		const namespace = testNamespace(t, `${foreignWalk[0]!}c`);
		const holder = await hold(t, namespace, 'a', 0);
		const netns = statSync(`/run/netns/${namespace}`).ino;
		const source = new KernelSource({passIntervalMs: 100, foreignWalk});
		const seen: Array<{complete: boolean; namespaces: readonly number[]; sent: number[]}> = [];
		let wrote = false;
		const followed = new Promise<void>(resolve => {
			source.start({
				snapshot() {
					holder.stdin!.write('write\n');
					wrote = true;
				},
				pass(pass) {
					const sent = pass.sockets.filter(socket => socket.netns === netns && socket.figures).map(socket => socket.figures!.bytesAcked);
					// Listeners passes (between costly ones) read no connection: not the passes looked at here.
					if (pass.listenersOnly) {
						return;
					}

					seen.push({complete: pass.complete, namespaces: pass.namespaces, sent});
					if (wrote && !pass.complete && sent.includes((2 * written) + 1)) {
						resolve();
					}
				},
				batch() {},
				error(error) {
					t.fail(error.message);
				},
			});
		});
		try {
			await Promise.race([followed, delay(10_000)]);
		} finally {
			await source.stop();
		}

		const counters = seen.filter(pass => !pass.complete);
		t.true(counters.some(pass => pass.sent.includes((2 * written) + 1)), 'a counters pass carried the second write');
		// Through the files the namespace is not walked (nor counted); through its tables it is.
		t.is(counters.at(-1)!.namespaces.includes(netns), foreignWalk === 'tables');
	});
}

kernelTest('a namespace holding only IPv6 sockets is walked (its IPv4 counters say it holds none)', async t => {
	const namespace = testNamespace(t, 'v6');
	await hold(t, namespace, 'v6');
	const {code, stdout, stderr} = await run(['-b', '-n', '1', '--json', '--max-conns', '1000000']);
	t.is(code, 0, stderr);
	const rows = (JSON.parse(stdout) as Document).connections.filter(row => row.netns === statSync(`/run/netns/${namespace}`).ino);
	t.deepEqual(socketsOf(rows), ssSocketsIn(namespace));
	t.is(rows.length, 3);
});
