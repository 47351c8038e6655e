// `tcptop --metrics`, run as a user runs it: scraped over loopback while the test makes known
// traffic, headless or beside batch mode, with its address rules and exits.
import {execFileSync} from 'node:child_process';
import {once} from 'node:events';
import net from 'node:net';
import {kernelTest} from './helpers/kernel.js';
import {attached, bpfLinksOnHost, finish, run, start} from './helpers/cli.js';
import {parseExposition, type Family} from './helpers/exposition.js';
import {assertOneLineError, testUsageErrors} from './helpers/usage-errors.js';
import {closedPort, connectAndClose, connectAndReset, connectRefused, listen} from './helpers/net.js';

// Other tests (and benchmarks) can leave more TIME_WAITs than the default cap: the table must
// not evict the listeners these tests look for.
const roomy = ['--max-conns', '1000000'];

type Started = {child: ReturnType<typeof start>; finished: ReturnType<typeof finish>; url: string; links: number[]};

/** Starts tcptop with --metrics; resolves once it serves (the address it prints) and has attached. */
async function startServing(args: string[]): Promise<Started> {
	const child = start(args);
	const finished = finish(child);
	let stderr = '';
	const url = await new Promise<string>((resolve, reject) => {
		child.stderr.on('data', (chunk: Buffer) => {
			stderr += chunk.toString();
			const found = /serving metrics at (http:\S+)\n/.exec(stderr)?.[1];
			if (found) {
				resolve(found);
			}
		});
		child.on('exit', () => {
			reject(new Error(`tcptop exited first: ${stderr}`));
		});
	});
	return {child, finished, url, links: await attached(child)};
}

async function scrape(url: string): Promise<Map<string, Family>> {
	const response = await fetch(url);
	if (response.status !== 200) {
		throw new Error(`${url}: ${response.status}`);
	}

	return parseExposition(await response.text());
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
	const sample = families.get(name)?.samples.find(sample => Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted));
	return sample?.value ?? 0;
}

/** The local address of the socket listening on a port, as ss shows it. */
function listeningOn(port: number): string[] {
	return execFileSync('ss', ['-tlnH', `sport = :${port}`], {encoding: 'utf8'}).trim().split('\n').filter(Boolean).map(line => line.trim().split(/\s+/)[3]!);
}

kernelTest('headless --metrics PORT: loopback only; counters move with the traffic made; SIGTERM exits 0 and detaches', async t => {
	const server = await listen('127.0.0.1');
	t.teardown(async () => server.close());
	const {child, finished, url, links} = await startServing(['--metrics', '0', ...roomy]);
	const port = Number(new URL(url).port);
	t.is(new URL(url).hostname, '127.0.0.1');
	t.deepEqual(listeningOn(port), [`127.0.0.1:${port}`], 'a bare port binds loopback only');

	const before = await scrape(url);
	// 6 connections opened and closed, 2 refused connects, 2 connections aborted with a reset.
	for (let i = 0; i < 6; i++) {
		await connectAndClose('127.0.0.1', server.port);
	}

	const refused = await closedPort('127.0.0.1');
	await connectRefused('127.0.0.1', refused);
	await connectRefused('127.0.0.1', refused);
	await connectAndReset('127.0.0.1', server.port);
	await connectAndReset('127.0.0.1', server.port);
	await server.settled();
	await new Promise(resolve => setTimeout(resolve, 200)); // the last events reach tcptop
	const after = await scrape(url);

	// Other tests make traffic too, so the host's counters move at least this much.
	const moved = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
	t.true(moved('tcptop_transitions_total', {from: 'CLOSE', to: 'SYN_SENT'}) >= 10);
	t.true(moved('tcptop_transitions_total', {from: 'LISTEN', to: 'SYN_RECV'}) >= 8);
	t.true(moved('tcptop_transitions_total', {from: 'SYN_SENT', to: 'CLOSE'}) >= 2);
	t.true(moved('tcptop_transitions_total', {from: 'FIN_WAIT2', to: 'CLOSE'}) >= 6);
	t.true(moved('tcptop_connections_opened_total') >= 18, 'connects and accepts');
	t.true(moved('tcptop_connect_failures_total') >= 2);
	t.true(moved('tcptop_resets_total') >= 2);
	t.true(value(after, 'tcptop_sockets', {state: 'LISTEN'}) >= 2, 'our listener and tcptop\'s own');
	t.true(value(after, 'tcptop_sockets', {state: 'TIME_WAIT'}) >= 6);
	for (const name of ['tcptop_events_lost_total', 'tcptop_connections_evicted_total']) {
		t.is(after.get(name)?.type, 'counter', name);
	}

	// Counters never go back.
	for (const [name, family] of after) {
		if (family.type === 'counter') {
			for (const sample of before.get(name)?.samples ?? []) {
				t.true(value(after, name, sample.labels) >= sample.value, name);
			}
		}
	}

	const other = await fetch(new URL('/', url));
	t.is(other.status, 404);
	t.is((await fetch(new URL('/metrics/x', url))).status, 404);

	child.kill('SIGTERM');
	const {code, stderr} = await finished;
	t.is(code, 0);
	t.is(stderr, `tcptop: serving metrics at ${url}\n`);
	const remaining = new Set(bpfLinksOnHost());
	t.deepEqual(links.filter(id => remaining.has(id)), []);
	t.deepEqual(listeningOn(port), [], 'the port is released');
});

kernelTest('--metrics beside -b: scraped while batch mode prints; SIGINT exits 0', async t => {
	const {child, finished, url, links} = await startServing(['-b', '-d', '0.2', '--json', ...roomy, '--metrics', '127.0.0.1:0', 'state', 'listening']);
	await once(child.stdout, 'data');
	const families = await scrape(url);
	t.true(value(families, 'tcptop_sockets', {state: 'LISTEN'}) >= 1);
	child.kill('SIGINT');
	const {code, stdout} = await finished;
	t.is(code, 0);
	const first = JSON.parse(stdout.split('\n')[0]!) as {connections: Array<{state: string}>};
	t.true(first.connections.length > 0 && first.connections.every(c => c.state === 'LISTEN'), 'the filter applies to the printed table');
	const remaining = new Set(bpfLinksOnHost());
	t.deepEqual(links.filter(id => remaining.has(id)), []);
});

kernelTest('--metrics on a port in use: one line, exit 1', async t => {
	const taken = net.createServer().listen(0, '127.0.0.1');
	await once(taken, 'listening');
	t.teardown(() => taken.close());
	const {port} = taken.address() as net.AddressInfo;
	const {code, stdout, stderr} = await run(['--metrics', `127.0.0.1:${port}`]);
	t.is(code, 1);
	t.is(stdout, '');
	assertOneLineError(t, stderr, new RegExp(`--metrics: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
});

testUsageErrors([
	[['--metrics', 'localhost'], /--metrics: 'localhost' is not PORT, ADDRESS:PORT/],
	[['--metrics', '65536'], /--metrics: '65536' is not PORT/],
	[['--metrics', '10.0.0:9464'], /--metrics: '10\.0\.0:9464' is not PORT/],
	[['--metrics', '::1:9464'], /--metrics: '::1:9464' is not PORT/],
	[['--metrics', '9464', 'state', 'established'], /a filter applies to the live view and -b/],
	[['--metrics', '9464', '-b', '--view'], /-b and --view cannot be used together/],
	[['trace', '--metrics', '9464'], /--metrics does not apply to trace/],
]);
