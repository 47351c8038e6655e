// Retransmits against the kernel: a connection across a veth pair between two namespaces of
// the test's own, whose peer goes away while it sends: its address removed (the segments go
// out and are lost on the other side), then its end of the pair down (the segments wait for a
// neighbour that no longer answers, and are dropped). ss -ti (retrans:N/TOTAL) is the oracle.
import {execFileSync, spawn} from 'node:child_process';
import {once} from 'node:events';
import {createInterface} from 'node:readline';
import {setTimeout as delay} from 'node:timers/promises';
import {KernelSource} from '../src/capture/kernel-source.js';
import {attached, finish, start} from './helpers/cli.js';
import type {ExecutionContext} from 'ava';
import {kernelTest} from './helpers/kernel.js';
import {testNamespace} from './helpers/netns.js';

const port = 7300;

const serverScript = `
require('node:net').createServer(socket => socket.resume()).listen(${port}, '10.214.0.2', () => process.stdout.write('ready\\n'));
process.stdin.resume().on('end', () => process.exit(0));
`;

// Connects, says so, and sends 200 kB for each line its stdin reads.
const clientScript = `
const client = require('node:net').connect(${port}, '10.214.0.2', () => process.stdout.write('connected\\n'));
client.on('error', () => {});
require('node:readline').createInterface({input: process.stdin}).on('line', () => client.write(Buffer.alloc(200000)));
process.stdin.on('end', () => process.exit(0));
`;

function ssTotalRetransmits(namespace: string): number {
	const text = execFileSync('ip', ['netns', 'exec', namespace, 'ss', '-Htni', 'state', 'established', `dport = :${port}`], {encoding: 'utf8'});
	const [, total] = /\bretrans:\d+\/(\d+)/.exec(text) ?? [];
	return Number(total ?? 0);
}

/**
 * Two namespaces of the test's own joined by a veth pair (addresses 10.214.0.1 and .2 in them
 * alone), a server in the receiver's, and a client connected from the sender's that sends 200 kB
 * for each line written to its stdin. gone(): the receiver's address goes; down(): its end.
 */
async function connectedPair(t: ExecutionContext, label: string) {
	const sender = testNamespace(t, `${label}-a`);
	const receiver = testNamespace(t, `${label}-b`);
	const [here, there] = [`${label}${process.pid % 100_000}a`, `${label}${process.pid % 100_000}b`];
	execFileSync('ip', ['link', 'add', here, 'netns', sender, 'type', 'veth', 'peer', 'name', there, 'netns', receiver]);
	execFileSync('ip', ['-n', sender, 'addr', 'add', '10.214.0.1/24', 'dev', here]);
	execFileSync('ip', ['-n', receiver, 'addr', 'add', '10.214.0.2/24', 'dev', there]);
	execFileSync('ip', ['-n', sender, 'link', 'set', here, 'up']);
	execFileSync('ip', ['-n', receiver, 'link', 'set', there, 'up']);

	const server = spawn('ip', ['netns', 'exec', receiver, process.execPath, '-e', serverScript], {stdio: ['pipe', 'pipe', 'inherit']});
	t.teardown(() => server.kill());
	await once(createInterface({input: server.stdout}), 'line');
	const client = spawn('ip', ['netns', 'exec', sender, process.execPath, '-e', clientScript], {stdio: ['pipe', 'pipe', 'inherit']});
	t.teardown(() => client.kill());
	await once(createInterface({input: client.stdout}), 'line');
	return {
		sender,
		client,
		gone: () => {
			execFileSync('ip', ['-n', receiver, 'addr', 'del', '10.214.0.2/24', 'dev', there]);
		},
		down: () => {
			execFileSync('ip', ['-n', receiver, 'link', 'set', there, 'down']);
		},
	};
}

kernelTest('a connection whose peer went away retransmits: RETRANS and RETR/s, as ss -ti counts them', async t => {
	const {sender, client, gone} = await connectedPair(t, 'tr');

	const tcptop = start(['-b', '-n', '6', '-d', '1', '--json', '--netns', sender, `dport = ${port}`]);
	const output = finish(tcptop);
	await attached(tcptop);
	// The receiver goes: what the sender sends now is lost, and retransmitted.
	gone();
	client.stdin.write('send\n');
	const {code, stdout, stderr} = await output;
	t.is(code, 0, stderr);
	await delay(0);
	const oracle = ssTotalRetransmits(sender);

	const rows = stdout.trim().split('\n').map(line => (JSON.parse(line) as {connections: Array<Record<string, unknown>>}).connections.find(row => row.state === 'ESTABLISHED'));
	t.true(rows.every(row => row !== undefined), 'the connection is in every print');
	t.is(rows[0]!.retransmits, 0, 'none before its peer went');
	const last = rows.at(-1)!.retransmits as number;
	t.true(last > 0 && last <= oracle, `retransmits as ss -ti counts them: ${last}, ss ${oracle} after`);
	t.true(rows.some(row => (row!.retransmits_per_s as number) > 0), `RETR/s while it happens: ${rows.map(row => row!.retransmits_per_s).join(', ')}`);
});

kernelTest('trace --events: the retransmits as ss -ti counts them, and the drops with their reason, of that namespace alone', async t => {
	const {sender, client, gone, down} = await connectedPair(t, 'te');
	const tcptop = start(['trace', '--events', '--json', '--netns', sender]);
	const output = finish(tcptop);
	let streamed = '';
	tcptop.stdout.on('data', (chunk: string) => {
		streamed += chunk;
	});
	await attached(tcptop);
	// The receiver goes: the sender's segments are lost, and retransmitted. Then its end of the
	// pair: the sender's neighbour entry is flushed, asked again for 3 s in vain, and what waited
	// for it is dropped, when the next retransmit comes (a busy host can take a while): the
	// trace runs until a drop has come out, 30 s at most.
	gone();
	client.stdin.write('send\n');
	await delay(1500);
	down();
	for (let waited = 0; waited < 30_000 && !streamed.includes('"event":"drop"'); waited += 100) {
		await delay(100);
	}

	tcptop.kill('SIGINT');
	const {code, stdout, stderr} = await output;
	t.is(code, 0, stderr);
	const oracle = ssTotalRetransmits(sender);
	type Line = {event?: string; netns: number; laddr: string; raddr: string; rport: number; state?: string; reason?: string};
	const lines = stdout.trim().split('\n').map(line => JSON.parse(line) as Line);
	const netns = Number(execFileSync('ip', ['netns', 'exec', sender, 'stat', '-L', '-c', '%i', '/proc/self/ns/net'], {encoding: 'utf8'}).trim());
	t.deepEqual([...new Set(lines.map(line => line.netns))], [netns], 'the sender\'s namespace alone');
	const retransmits = lines.filter(line => line.event === 'retransmit');
	t.true(retransmits.length > 0 && retransmits.length <= oracle, `${retransmits.length} retransmit lines, ss -ti counts ${oracle} segments after`);
	t.true(retransmits.every(line => line.laddr === '10.214.0.1' && line.raddr === '10.214.0.2' && line.rport === port && line.state === 'ESTABLISHED'));
	const drops = lines.filter(line => line.event === 'drop');
	t.true(drops.length > 0, 'segments dropped on their way out');
	t.true(drops.every(line => line.rport === port && /^[A-Z][A-Z0-9_]+$/.test(line.reason!)), `reasons named: ${[...new Set(drops.map(line => line.reason))].join(', ')}`);
});

kernelTest('the kernel counts each connection\'s retransmits as they happen: a pass takes those since the pass before, as many as ss -ti counts', async t => {
	const {sender, client, gone} = await connectedPair(t, 'tl');
	const netns = Number(execFileSync('ip', ['netns', 'exec', sender, 'stat', '-L', '-c', '%i', '/proc/self/ns/net'], {encoding: 'utf8'}).trim());
	const source = new KernelSource({netns, passIntervalMs: 300});
	const taken: number[] = [];
	let failure: Error | undefined;
	source.start({
		batch() {},
		error(error) {
			failure = error;
		},
		pass(pass) {
			let retransmits = 0;
			for (let index = 0; index < (pass.live?.counts.length ?? 0); index += 3) {
				retransmits += pass.live!.counts[index + 1]!;
			}

			taken.push(retransmits);
			return undefined;
		},
	});
	try {
		gone();
		client.stdin.write('send\n');
		// Retransmitted 0.2, 0.6, 1.4 and 3 s after (the timer doubles): a few passes each.
		await delay(4000);
	} finally {
		await source.stop();
	}

	t.is(failure, undefined);
	const oracle = ssTotalRetransmits(sender);
	const total = taken.reduce((sum, count) => sum + count, 0);
	t.true(total > 0 && total <= oracle, `${total} taken, ss -ti counts ${oracle}`);
	t.true(total >= oracle - 1, `every one but any on its way as tcptop stopped: ${total} of ${oracle}`);
	t.true(taken.filter(count => count > 0).length > 1, `taken as they came, not again: ${taken.join(', ')}`);
});
