// tcptop's metrics as Prometheus itself sees them: the real Prometheus (Debian's, which the test
// set-up installs) scrapes `tcptop --metrics` every second on loopback while a test namespace
// makes known traffic (connections, a CLOSE-WAIT pile-up, refused connects, a full listener),
// and its HTTP API answers with the known counts. The alert rules that ship
// with tcptop pass promtool's checks and unit tests, and every panel of the dashboard is a query
// Prometheus answers with a series.
import {execFile, execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {once} from 'node:events';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {createInterface} from 'node:readline';
import {setTimeout as delay} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import test, {type ExecutionContext} from 'ava';
import {start} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {alone} from './helpers/load-lock.js';
import {closedPort} from './helpers/net.js';
import {testNamespace} from './helpers/netns.js';

const contrib = fileURLToPath(new URL('../contrib/', import.meta.url));

test('the alert rules pass promtool\'s check and their unit tests', t => {
	const promtool = (...args: string[]) => execFileSync('promtool', args, {cwd: join(contrib, 'prometheus'), encoding: 'utf8'});
	t.regex(promtool('check', 'rules', 'tcptop.rules.yml'), /SUCCESS: 6 rules found/);
	t.regex(promtool('test', 'rules', 'tcptop.rules.test.yml'), /SUCCESS/);
});

// In the test's namespace: 20 connections opened and closed, 7 whose server never closes its end
// (CLOSE-WAIT, held until stdin closes), 5 connects to a port nothing listens on.
const opened = 20;
const closeWait = 7;
const refused = 5;
const trafficScript = `
import socket, sys
server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(64)
port = server.getsockname()[1]
for _ in range(${opened}):
    client = socket.create_connection(('127.0.0.1', port))
    accepted, _ = server.accept()
    accepted.close()
    client.close()
held = []
for _ in range(${closeWait}):
    client = socket.create_connection(('127.0.0.1', port))
    accepted, _ = server.accept()
    client.close()
    held.append(accepted)
for _ in range(${refused}):
    try:
        socket.create_connection(('127.0.0.1', 9))
    except ConnectionRefusedError:
        pass
print('done', flush=True)
sys.stdin.read()
`;

/**
 * The most series a host exports (README, Metrics): 12 states, 144 edges, 8 counters, 3 gauges
 * and counters of tcptop's own, 256 drop reasons, 2 x 33 listener ports, and Node's own (about
 * a hundred).
 */
const maxSeries = 600;

// A listener with a backlog of 1 that never accepts, and 6 clients connecting to it.
const fullListenerScript = `
import socket, sys
listener = socket.socket()
listener.bind(('127.0.0.1', 0))
listener.listen(1)
clients = []
for _ in range(6):
    client = socket.socket()
    client.setblocking(False)
    client.connect_ex(listener.getsockname())
    clients.append(client)
print('connecting', flush=True)
sys.stdin.read()
`;

type Sample = {metric: Record<string, string>; value: [number, string]};

/** Prometheus on loopback scraping tcptop at `target` every second, its data in a folder of its own. */
async function prometheus(t: ExecutionContext, target: string): Promise<(query: string) => Promise<Sample[]>> {
	const folder = mkdtempSync(join(tmpdir(), 'tcptop-prometheus-'));
	const config = join(folder, 'prometheus.yml');
	writeFileSync(config, [
		'global: {scrape_interval: 1s, evaluation_interval: 1s}',
		'scrape_configs:',
		'  - job_name: tcptop',
		`    static_configs: [{targets: ['${target}']}]`,
		'',
	].join('\n'));
	const port = await closedPort('127.0.0.1');
	const server: ChildProcess = spawn('prometheus', [
		`--config.file=${config}`, `--storage.tsdb.path=${join(folder, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
	], {stdio: ['ignore', 'ignore', 'pipe']});
	t.teardown(async () => {
		server.kill();
		if (server.exitCode === null) {
			await once(server, 'exit');
		}

		rmSync(folder, {recursive: true, force: true});
	});
	for await (const line of createInterface({input: server.stderr!})) {
		if (line.includes('Server is ready to receive web requests')) {
			break;
		}
	}

	return async query => {
		const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(query)}`);
		const body = await response.json() as {status: string; error?: string; data: {result: Sample[]}};
		if (body.status !== 'success') {
			throw new Error(`${query}: ${body.error}`);
		}

		return body.data.result;
	};
}

/** The one value a query returns (undefined when it returns none). */
async function value(query: (text: string) => Promise<Sample[]>, text: string): Promise<number | undefined> {
	const [sample] = await query(text);
	return sample === undefined ? undefined : Number(sample.value[1]);
}

kernelTest('Prometheus scraping tcptop --metrics: the known traffic\'s counts, up throughout, every dashboard panel a series', async t => {
	const namespace = testNamespace(t, 'prom');
	const port = await closedPort('127.0.0.1');
	const tcptop = start(['--metrics', `127.0.0.1:${port}`, '--netns', namespace]);
	t.teardown(() => tcptop.kill('SIGKILL'));
	await once(createInterface({input: tcptop.stderr}), 'line'); // "serving metrics at ..."
	const query = await prometheus(t, `127.0.0.1:${port}`);
	const instance = `127.0.0.1:${port}`;
	// Scraped before the traffic: the counters start from what tcptop counted then.
	while ((await value(query, 'up{job="tcptop"}')) !== 1) {
		await delay(200);
	}

	const traffic = spawn('ip', ['netns', 'exec', namespace, 'python3', '-c', trafficScript], {stdio: ['pipe', 'pipe', 'inherit']});
	t.teardown(() => traffic.kill());
	await once(createInterface({input: traffic.stdout}), 'line');
	// A socket walk a second, a scrape a second: what the traffic made is in by then.
	await delay(4000);

	t.is(await value(query, 'tcptop_sockets{state="CLOSE_WAIT"}'), closeWait);
	t.is(await value(query, 'tcptop_connect_failures_total'), refused);
	t.is(await value(query, 'tcptop_transitions_total{from="SYN_SENT",to="CLOSE"}'), refused);
	// Each connection is opened twice (the connect and the accepted socket); a refused connect once.
	t.is(await value(query, 'tcptop_connections_opened_total'), (2 * (opened + closeWait)) + refused);
	t.true((await value(query, 'increase(tcptop_connect_failures_total[1m])'))! >= refused, 'increase() over the scrapes sees the failures');
	t.is(await value(query, 'tcptop_drops_total{reason="NO_SOCKET"}'), refused, 'one SYN dropped for each refused connect');
	t.is(await value(query, `tcptop_listen_queue{port!="other"}`), 0, 'the listener, its queue empty');
	// A listener that never accepts, its queue full: the attempts past it are dropped, and
	// counted as the namespace counts them.
	const full = spawn('ip', ['netns', 'exec', namespace, 'python3', '-c', fullListenerScript], {stdio: ['pipe', 'pipe', 'inherit']});
	t.teardown(() => full.kill());
	await once(createInterface({input: full.stdout}), 'line');
	// A pass and a scrape after the overflows (a busy host takes longer): 30 s at most.
	let overflows = await value(query, 'tcptop_listen_overflows_total');
	for (let waited = 0; waited < 30_000 && !(overflows! > 0); waited += 500) {
		await delay(500);
		overflows = await value(query, 'tcptop_listen_overflows_total');
	}

	const netstat = execFileSync('ip', ['netns', 'exec', namespace, 'cat', '/proc/net/netstat'], {encoding: 'utf8'});
	const [names, values] = netstat.split('\n').filter(line => line.startsWith('TcpExt:')).map(line => line.split(/\s+/));
	const namespaceOverflows = Number(values![names!.indexOf('ListenOverflows')]);
	t.true(overflows! > 0 && overflows! <= namespaceOverflows, `${overflows} listen overflows, the namespace counts ${namespaceOverflows}`);

	// Scraped every second since it started, never down.
	t.is(await value(query, 'min_over_time(up{job="tcptop"}[1m])'), 1);
	t.true((await value(query, 'count_over_time(up{job="tcptop"}[1m])'))! >= 5);

	// Every panel's query, for this host, is one Prometheus answers, with a series.
	type Panel = {title: string; targets: Array<{expr: string}>};
	const dashboard = JSON.parse(readFileSync(join(contrib, 'grafana', 'tcptop-dashboard.json'), 'utf8')) as {panels: Panel[]};
	t.true(dashboard.panels.length >= 8);
	for (const panel of dashboard.panels) {
		for (const {expr} of panel.targets) {
			const text = expr.replaceAll('$instance', instance).replaceAll('$__rate_interval', '1m');
			const series = await query(text);
			t.true(series.length > 0, `${panel.title}: ${text} returns a series`);
		}
	}

	// Under churn in the namespace (the load generator's full rate, the server closing first),
	// every scrape still answered, nothing lost.
	const loadgen = join(mkdtempSync(join(tmpdir(), 'tcptop-loadgen-')), 'loadgen');
	t.teardown(() => rmSync(dirname(loadgen), {recursive: true, force: true}));
	execFileSync('cc', ['-O2', '-pthread', join(contrib, '..', 'bench', 'loadgen.c'), '-o', loadgen]);
	const churnSeconds = 30;
	const connections = await alone(async () => {
		const {stdout} = await promisify(execFile)('ip', ['netns', 'exec', namespace, loadgen, 'single', 'graceful', String(churnSeconds)], {encoding: 'utf8'});
		await delay(2000);
		return (JSON.parse(stdout.trim().split('\n').at(-1)!) as {connections: number}).connections;
	});
	t.true(connections > 10_000, `the load made ${connections} connections`);
	const window = `${churnSeconds + 2}s`;
	t.is(await value(query, `min_over_time(up{job="tcptop"}[${window}])`), 1, 'up at every scrape of the churn');
	t.true((await value(query, `count_over_time(up{job="tcptop"}[${window}])`))! >= churnSeconds, 'a scrape a second');
	t.true((await value(query, `max_over_time(scrape_duration_seconds{job="tcptop"}[${window}])`))! < 1, 'each answered within a second');
	t.is(await value(query, 'tcptop_events_lost_total'), 0);
	t.true((await value(query, 'tcptop_connections_opened_total'))! >= (2 * (opened + closeWait + connections)) + refused);

	// A bounded label set: what one host exports stays within what the README says.
	const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
	const series = exposition.split('\n').filter(line => line !== '' && !line.startsWith('#'));
	t.true(series.length <= maxSeries, `${series.length} series`);
	t.false(series.some(line => /\b(laddr|raddr|lport|rport|pid|comm)=/.test(line)), 'no addresses, ports of connections or processes as labels');
});
