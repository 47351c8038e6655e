// `tcptop --metrics`: the connection table's figures as Prometheus metrics over HTTP, built
// with prom-client in a registry of tcptop's own. Labels are states and edges only (at most
// 12 x 12 series), never connections, so a busy host cannot blow up a scraper.
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {collectDefaultMetrics, Counter, Gauge, Registry} from 'prom-client';
import {liveOrigin} from '../capture/origin.js';
import {stateName, TcpState} from '../core/transition.js';
import type {TransitionSource} from '../core/source.js';
import type {ConnectionTable} from '../model/connection-table.js';
import {RateSeries} from '../model/transition-rates.js';
import {handshakeBounds} from '../model/durations.js';
import {runFed} from './run-fed.js';

export type MetricsAddress = {
	/** undefined: every address of the host. */
	readonly host: string | undefined;
	/** 0 picks a free port. */
	readonly port: number;
};

// Every state a socket can be in; CLOSE is not one (closed connections the table still lists).
const socketStates = Object.values(TcpState).filter(state => state !== TcpState.CLOSE);

/** A registry whose metrics read the table on each scrape. */
/** Local ports the listener gauges label one by one; the rest are summed as port="other". */
export const maxListenerPorts = 32;

export function metricsRegistry(table: ConnectionTable, now: () => number): Registry {
	const registry = new Registry();
	collectDefaultMetrics({register: registry});
	const {rates} = table;
	// Counters mirror the table's running totals: each scrape adds what is new since the last.
	const seen = new Map<string, number>();
	const advance = (counter: Counter<string>, key: string, total: number, labels: Record<string, string> = {}) => {
		const added = total - (seen.get(key) ?? 0);
		if (added > 0) {
			counter.inc(labels, added);
			seen.set(key, total);
		}
	};

	// The first metric collected brings the table up to now: closed connections and
	// TIME_WAITs that are over leave before anything is counted.
	new Gauge({
		name: 'tcptop_sockets',
		help: 'TCP sockets in each state (TIME_WAIT included, as ss counts them)',
		labelNames: ['state'],
		registers: [registry],
		collect() {
			table.sweep(now());
			for (const state of socketStates) {
				this.set({state: stateName(state)}, table.countInState(state));
			}
		},
	});
	new Gauge({
		name: 'tcptop_connections_tracked',
		help: 'Connections tcptop tracks, closed ones still listed included',
		registers: [registry],
		collect() {
			this.set(table.size);
		},
	});
	new Counter({
		name: 'tcptop_transitions_total',
		help: 'TCP state transitions, by the state left and the state entered',
		labelNames: ['from', 'to'],
		registers: [registry],
		collect() {
			for (const {from, to} of rates.edges()) {
				advance(this, `${from}>${to}`, rates.edgeTotal(from, to), {from: stateName(from), to: stateName(to)});
			}
		},
	});
	const series: Array<[string, string, RateSeries]> = [
		['tcptop_connections_opened_total', 'New connections: connect() calls and connections accepted by a listener', RateSeries.opened],
		['tcptop_connect_failures_total', 'connect() attempts that failed (refused or timed out)', RateSeries.failedConnects],
		['tcptop_resets_total', 'Connections that ended with a reset', RateSeries.resets],
		['tcptop_events_lost_total', 'Kernel events lost because tcptop fell behind', RateSeries.lost],
		['tcptop_listen_overflows_total', 'Connection attempts listeners dropped for a full accept queue (ListenOverflows of tcptop\'s network namespace), since tcptop started', RateSeries.listenOverflows],
		['tcptop_listen_drops_total', 'Connection attempts listeners dropped for any reason (ListenDrops of tcptop\'s network namespace), since tcptop started', RateSeries.listenDrops],
		['tcptop_retransmits_total', 'TCP segments retransmitted (RetransSegs of tcptop\'s network namespace), since tcptop started', RateSeries.retransmits],
		['tcptop_syn_retransmits_total', 'SYNs and SYN-ACKs retransmitted (TCPSynRetrans of tcptop\'s network namespace), since tcptop started', RateSeries.synRetransmits],
	];
	new Counter({
		name: 'tcptop_drops_total',
		help: 'TCP packets the kernel dropped on this host, by the kernel\'s drop reason, since tcptop started',
		labelNames: ['reason'],
		registers: [registry],
		collect() {
			for (const reason of rates.dropReasons()) {
				advance(this, `drops ${reason}`, rates.dropTotal(reason), {reason});
			}
		},
	});
	for (const [name, help, which] of series) {
		new Counter({
			name,
			help,
			registers: [registry],
			collect() {
				advance(this, name, rates.seriesTotal(which));
			},
		});
	}

	// Listeners by local port (several may share one: each family, each namespace, SO_REUSEPORT),
	// the fullest queues first; past maxListenerPorts the rest are summed as port="other", so a
	// host with many listeners does not make many series. Both gauges name the same ports.
	const byPort = (): Array<[string, {queue: number; backlog: number}]> => {
		const ports = new Map<string, {queue: number; backlog: number}>();
		table.forEachQueued(connection => {
			const port = String(connection.lport);
			const sum = ports.get(port) ?? {queue: 0, backlog: 0};
			ports.set(port, {queue: sum.queue + connection.queue!.acceptQueue, backlog: sum.backlog + connection.queue!.acceptBacklog});
		});
		const sorted = [...ports].sort(([portA, a], [portB, b]) => b.queue - a.queue || Number(portA) - Number(portB));
		const rest = sorted.slice(maxListenerPorts);
		const other = {queue: 0, backlog: 0};
		for (const [, sum] of rest) {
			other.queue += sum.queue;
			other.backlog += sum.backlog;
		}

		return rest.length === 0 ? sorted : [...sorted.slice(0, maxListenerPorts), ['other', other]];
	};

	for (const [name, help, field] of [
		['tcptop_listen_queue', 'Connections waiting for accept() on the listeners of a local port', 'queue'],
		['tcptop_listen_backlog', 'The backlog of the listeners of a local port (their accept queues are full past it)', 'backlog'],
	] as const) {
		new Gauge({
			name,
			help,
			labelNames: ['port'],
			registers: [registry],
			collect() {
				this.reset();
				for (const [port, sum] of byPort()) {
					this.set({port}, sum[field]);
				}
			},
		});
	}

	new Counter({
		name: 'tcptop_connections_evicted_total',
		help: 'Connections dropped from tracking by the --max-conns cap',
		registers: [registry],
		collect() {
			advance(this, 'evicted', table.evictions);
		},
	});
	// Handshakes as a histogram: the table counts them in Prometheus' buckets as they happen
	// (model/durations.ts HandshakeCounts); a scrape reports those counts, as prom-client's own
	// histograms give theirs to the registry.
	const handshakeName = 'tcptop_handshake_seconds';
	const handshakeMetric = {
		name: handshakeName,
		help: 'TCP handshakes since tcptop started: connect() to ESTABLISHED (side="client"), SYN received to ESTABLISHED (side="server")',
		type: 'histogram',
		aggregator: 'sum',
		labelNames: ['side', 'le'],
		reset() {
			// The counts are the table's.
		},
		get() {
			const counts = table.durations.handshakes;
			const values = (['client', 'server'] as const).flatMap((side, index) => {
				const buckets = counts.buckets[index]!;
				return [
					...[...handshakeBounds, '+Inf'].map((le, at) => ({labels: {le, side}, value: buckets[at]!, metricName: `${handshakeName}_bucket`})),
					{labels: {side}, value: counts.sums[index]!, metricName: `${handshakeName}_sum`},
					{labels: {side}, value: buckets[handshakeBounds.length]!, metricName: `${handshakeName}_count`},
				];
			});
			return Promise.resolve({name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values});
		},
	};
	// prom-client's typings call for one of its metric classes; the registry asks only for these fields and get().
	registry.registerMetric(handshakeMetric as unknown as Parameters<Registry['registerMetric']>[0]);

	return registry;
}

/** The HTTP endpoint: GET /metrics, 404 for any other path. */
export class MetricsServer {
	private constructor(private readonly server: Server, readonly url: string) {}

	/** Listening once it resolves; rejects with one line saying why it cannot (port in use, ...). */
	static async start(registry: Registry, address: MetricsAddress): Promise<MetricsServer> {
		const server = createServer((request, response) => {
			const path = (request.url ?? '').split('?')[0];
			if (path !== '/metrics') {
				response.writeHead(404, {'content-type': 'text/plain'}).end('not found: tcptop serves /metrics\n');
				return;
			}

			if (request.method !== 'GET' && request.method !== 'HEAD') {
				response.writeHead(405, {allow: 'GET, HEAD', 'content-type': 'text/plain'}).end('only GET\n');
				return;
			}

			registry.metrics().then(text => {
				response.writeHead(200, {'content-type': registry.contentType}).end(request.method === 'HEAD' ? undefined : text);
			}, (error: Error) => {
				response.writeHead(500, {'content-type': 'text/plain'}).end(`${error.message}\n`);
			});
		});
		const where = address.host === undefined ? `port ${address.port}` : `${hostForUrl(address.host)}:${address.port}`;
		await new Promise<void>((resolve, reject) => {
			server.once('error', (error: NodeJS.ErrnoException) => {
				reject(new Error(`--metrics: cannot listen on ${where}: ${listenProblem(error)}`));
			});
			server.listen({host: address.host, port: address.port}, resolve);
		});
		const bound = server.address() as AddressInfo;
		return new MetricsServer(server, `http://${hostForUrl(address.host ?? bound.address)}:${bound.port}/metrics`);
	}

	async close(): Promise<void> {
		const closed = new Promise(resolve => {
			this.server.close(resolve);
		});
		// A scraper's kept-alive connection would hold the server open until it times out.
		this.server.closeAllConnections();
		await closed;
	}
}

/** Headless: the table is fed, and swept every second, until a signal or the source's failure. */
export async function runHeadless(source: TransitionSource, table: ConnectionTable): Promise<void> {
	const origin = liveOrigin();
	await runFed(source, table, origin, () => {
		const timer = setInterval(() => {
			table.sweep(origin.now());
		}, 1000);
		return {
			cleanUp() {
				clearInterval(timer);
			},
		};
	});
}

function hostForUrl(host: string): string {
	return host.includes(':') ? `[${host}]` : host;
}

function listenProblem(error: NodeJS.ErrnoException): string {
	switch (error.code) {
		case 'EADDRINUSE': {
			return 'the port is in use';
		}

		case 'EACCES': {
			return 'not allowed (ports below 1024 need root or CAP_NET_BIND_SERVICE)';
		}

		case 'EADDRNOTAVAIL': {
			return 'not an address of this host';
		}

		default: {
			return error.code ?? error.message;
		}
	}
}
