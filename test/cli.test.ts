// The command line, run as a user runs it: arguments, output formats, exits and clean-up.
import test from 'ava';
import {kernelTest} from './helpers/kernel.js';
import {attached, bpfLinksOnHost, finish, linksWhileTracing, run, start} from './helpers/cli.js';
import {testUsageErrors} from './helpers/usage-errors.js';
import {closedPort, connectAndClose, listen} from './helpers/net.js';

test('--help lists the trace command and exits 0', async t => {
	const {code, stdout} = await run(['--help']);
	t.is(code, 0);
	t.regex(stdout, /^Usage: tcptop/);
	for (const option of ['--json', '--lport', '--rport', '--pid', '--transport', '--duration', '-4, -6']) {
		t.true(stdout.includes(option), option);
	}
});

test('--version prints the package version', async t => {
	const {code, stdout} = await run(['--version']);
	t.is(code, 0);
	t.regex(stdout, /^tcptop \d+\.\d+\.\d+\n$/);
});

const usageErrors: Array<[string[], RegExp]> = [
	[['trace', '--bogus'], /Unknown option '--bogus'/],
	[['trace', '--lport', '99999'], /--lport: '99999' is not a port number/],
	[['trace', '--rport', '80,x'], /--rport: 'x' is not a port number/],
	[['trace', '--pid', '-3'], /--pid/],
	[['trace', '--transport', 'carrier-pigeon'], /--transport: 'carrier-pigeon' is not ringbuf or perf/],
	[['trace', '--duration', 'soon'], /--duration: 'soon' is not a positive number/],
	[['trace', '--duration', '2592000'], /--duration: '2592000' is more than 2000000 seconds/],
	[['trace', '-4', '-6'], /-4 and -6 cannot be used together/],
	[['frobnicate'], /unknown command or filter 'frobnicate'/],
];

testUsageErrors(usageErrors);

kernelTest('trace --json: one object per transition with the documented fields', async t => {
	const server = await listen('127.0.0.1');
	// -4: an IPv6 server of another test may have the same port number.
	const child = start(['trace', '--json', '-4', '--rport', String(server.port), '--duration', '2']);
	const finished = finish(child);
	await attached(child);
	const clientPort = await connectAndClose('127.0.0.1', server.port);
	await server.settled();
	const {code, stdout, stderr} = await finished;
	await server.close();

	t.is(code, 0);
	t.is(stderr, '');
	const lines = stdout.trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>);
	t.deepEqual(lines.map(line => `${String(line.oldstate)}->${String(line.newstate)}`), ['CLOSE->SYN_SENT', 'SYN_SENT->ESTABLISHED', 'ESTABLISHED->FIN_WAIT1', 'FIN_WAIT1->FIN_WAIT2', 'FIN_WAIT2->CLOSE']);
	for (const line of lines) {
		t.like(line, {family: 4, laddr: '127.0.0.1', raddr: '127.0.0.1', rport: server.port, pid: child.pid === undefined ? -1 : line.pid});
		t.regex(line.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
		t.true(Math.abs(Date.parse(line.time as string) - Date.now()) < 60_000);
		t.true(line.ms === null || typeof line.ms === 'number');
		t.is(typeof line.comm, 'string');
	}

	t.is(lines[0]!.pid, process.pid);
	t.is(lines[0]!.ms, null);
	t.is(lines[1]!.lport, clientPort);
});

kernelTest('trace: tcpstates-style text', async t => {
	const server = await listen('::1');
	const child = start(['trace', '-6', '--lport', String(server.port), '--duration', '2']);
	const finished = finish(child);
	await attached(child);
	await connectAndClose('::1', server.port);
	await server.settled();
	const {code, stdout} = await finished;
	await server.close();

	t.is(code, 0);
	const [header, ...lines] = stdout.trim().split('\n');
	t.regex(header!, /^TIME\s+PID\s+COMM\s+LADDR\s+LPORT\s+RADDR\s+RPORT\s+OLDSTATE\s+-> NEWSTATE\s+MS$/);
	t.is(lines.length, 5);
	t.regex(lines[0]!, new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\d+\\s+\\S+\\s+::1\\s+${server.port}\\s+::1\\s+\\d+\\s+LISTEN\\s+-> SYN_RECV\\s+-$`));
	t.regex(lines[4]!, /LAST_ACK\s+-> CLOSE\s+\d+\.\d{3}$/);
});

kernelTest('trace | head -1: exits quietly when stdout closes', async t => {
	const server = await listen('127.0.0.1');
	const child = start(['trace', '--rport', String(server.port)]);
	const finished = finish(child);
	await attached(child);
	child.stdout.destroy(); // the reader goes away, as head does
	for (let i = 0; i < 3; i++) {
		await connectAndClose('127.0.0.1', server.port);
	}

	const {code, signal, stderr} = await finished;
	await server.close();
	t.is(code, 0);
	t.is(signal, null);
	t.is(stderr, '');
});

kernelTest('trace | head -1 on a quiet host: exits once the reader goes, with nothing more to write', async t => {
	// A port nobody uses: no transition will ever make a write fail.
	const port = await closedPort('127.0.0.1');
	const child = start(['trace', '--lport', String(port)]);
	const finished = finish(child);
	const links = await attached(child);
	child.stdout.destroy();
	const {code, signal, stderr} = await Promise.race([finished, new Promise<never>((_, reject) => {
		setTimeout(() => {
			child.kill();
			reject(new Error('still running 5 s after its reader went'));
		}, 5000).unref();
	})]);
	t.is(code, 0);
	t.is(signal, null);
	t.is(stderr, '');
	const remaining = new Set(bpfLinksOnHost());
	t.deepEqual(links.filter(id => remaining.has(id)), []);
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
	kernelTest(`trace stops on ${signal}, exit 0, and its BPF links are gone`, async t => {
		const child = start(['trace']);
		const finished = finish(child);
		const links = await attached(child);
		t.is(links.length, linksWhileTracing, 'every program attached while running');
		child.kill(signal);
		const {code, stderr} = await finished;
		t.is(code, 0);
		t.is(stderr, '');
		const remaining = new Set(bpfLinksOnHost());
		t.deepEqual(links.filter(id => remaining.has(id)), []);
	});
}

kernelTest('trace --duration exits by itself and detaches', async t => {
	const child = start(['trace', '--duration', '0.5']);
	const finished = finish(child);
	const links = await attached(child);
	const started = Date.now();
	const {code} = await finished;
	t.is(code, 0);
	t.true(Date.now() - started < 5000);
	const remaining = new Set(bpfLinksOnHost());
	t.deepEqual(links.filter(id => remaining.has(id)), []);
});
