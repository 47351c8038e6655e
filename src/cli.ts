// The command line: parses arguments, picks a mode, turns every failure into one line on
// stderr and an exit code (2: usage, 1: runtime).
import {readFileSync} from 'node:fs';
import {isIPv4, isIPv6} from 'node:net';
import {join} from 'node:path';
import {parseArgs} from 'node:util';
import v8 from 'node:v8';
import {readerGone, type CaptureError, type Transport} from './capture/addon.js';
import {cgroupPaths, processCgroups} from './capture/cgroups.js';
import {FilteredSource, filtersSomething, type CaptureFilter} from './capture/filtered-source.js';
import {KernelSource, type KernelSourceOptions} from './capture/kernel-source.js';
import {netCountersOf} from './capture/net-counters.js';
import {namedNamespaceInode, netNamespaceExists} from './capture/net-namespaces.js';
import {liveOrigin, replayOrigin} from './capture/origin.js';
import {monotonicNow} from './core/origin.js';
import {packageRoot} from './core/package-root.js';
import {withRecording} from './capture/recording-source.js';
import {ReplaySource} from './capture/replay-source.js';
import type {TransitionSource} from './core/source.js';
import {columns} from './model/columns.js';
import {sortOrderByKey, sortOrderNamed, troubleOrder, type SortOrder} from './model/sort-orders.js';
import {loadSettings, saveSettings} from './ui/settings.js';
import {groupKindByKey, groupKinds, type GroupKind} from './model/groups.js';
import {ConnectionTable} from './model/connection-table.js';
import {compileFilter, type Filter} from './model/filter.js';
import {runBatch} from './output/batch.js';
import type {MetricsAddress, MetricsServer} from './output/metrics.js';
import {runTrace} from './output/trace.js';

const help = `Usage: tcptop [options] [FILTER...]
       tcptop -b [-n ITERATIONS] [-d SECS] [--json] [options] [FILTER...]
       tcptop --metrics ADDR [-b ... | --view]
       tcptop trace [trace options]
       tcptop --replay FILE [--speed X] [-b ... | trace ...]

top for TCP: every TCP connection on this host and every state change it makes,
captured live by eBPF. Needs root, or CAP_BPF and CAP_PERFMON.

Without a command, tcptop shows the connections live on the terminal (? for keys).
FILTER, the words after the options, is an ss-style filter, as --filter takes it.

Commands:
  trace              stream every TCP state transition, one per line
                     (columns: TIME PID COMM LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS)

Options for the live view and batch mode:
  -d, --delay SECS   refresh interval (default 1)
  --sort ORDER       trouble (the default: stuck, failing, dropping and retransmitting
                     connections first, then the busiest, TIME-WAIT and closed last),
                     or a column: pid, command, container, local, remote, state, age,
                     in-state, tx, rx, rtt, retrans, retr (retransmits per second), drops,
                     queue
  --filter EXPR      show only connections matching EXPR (ss syntax, e.g.
                     'state close-wait and dport = :5432')
  --group-by KEY     list groups of connections (g in the view): process, remote
                     (host), subnet (remote /24 or /64), service (local port served,
                     or remote port connected to), container, state; none (default)
  --no-color         no colours (also when NO_COLOR is set)
  --no-mouse         leave the terminal's mouse alone (the view: click a row to select it,
                     a column title to sort by it, the wheel to scroll)
  --max-conns N      keep rows for at most N connections (default 65536); the
                     per-state counts are the host's all the same
  --transport KIND   ringbuf (default) or perf
  --accept-owners    name the owners of accepted connections as they are accepted, by
                     tracing accept() (Linux 6.2+; costs every system call on the host);
                     without it they are named at the next full socket walk (every 5
                     refreshes; less often on a host of many sockets)

Batch mode (like top -b):
  -b, --batch        print the header figures and every matching connection as plain
                     text each interval, to a pipe or file
  -n, --iterations N stop after N prints (default: until a signal)
  --json             one JSON document per print, one line each

Metrics:
  --metrics ADDR     serve Prometheus metrics at http://ADDR/metrics; ADDR is PORT
                     (on 127.0.0.1), HOST:PORT, [IPV6]:PORT or :PORT (every address).
                     Alone, tcptop runs headless; with -b it prints too
  --view             with --metrics: show the live view as well

Options for trace:
  --json             one JSON object per transition (NDJSON)
  -4, -6             IPv4 or IPv6 only
  --lport LIST       only these local ports (comma-separated, at most 16)
  --rport LIST       only these remote ports (comma-separated, at most 16)
  --pid PID          only sockets of this process
  --transport KIND   ringbuf (default) or perf
  --duration SECS    stop after this many seconds
  --events           also stream each retransmitted segment and each packet the kernel
                     drops for a socket, as lines of their own (STATE !! RETRANSMIT, or
                     !! DROP REASON; JSON: "event": "retransmit" or "drop")

Recording and replay (the live view, batch mode and trace):
  --record FILE      also write everything captured to FILE (see README, Recording format)
  --replay FILE      read a recording instead of the kernel (no root needed), on its clock:
                     -b prints once per recorded interval and exits at its end; trace's
                     filters apply to what it holds; not with --metrics
  --speed X          replay at X times the recorded pace, 0.001 to 1000000 (default 1;
                     0: as fast as possible)

  --netns NS         only one network namespace: its inode, or its name in /run/netns
                     (ip netns); the per-state counts are then that namespace's. Without
                     it, tcptop covers every namespace on the host (containers' too)
  --debug            on a load failure, print libbpf's output (the verifier log); with
                     the live view, first name which of its Ink workarounds are on
  -h, --help         this help
  -V, --version      the version
`;

class UsageError extends Error {}

const optionSpec = {
	help: {type: 'boolean', short: 'h'},
	version: {type: 'boolean', short: 'V'},
	json: {type: 'boolean'},
	ipv4: {type: 'boolean', short: '4'},
	ipv6: {type: 'boolean', short: '6'},
	lport: {type: 'string'},
	rport: {type: 'string'},
	pid: {type: 'string'},
	netns: {type: 'string'},
	transport: {type: 'string'},
	duration: {type: 'string'},
	events: {type: 'boolean'},
	debug: {type: 'boolean'},
	delay: {type: 'string', short: 'd'},
	sort: {type: 'string'},
	'group-by': {type: 'string'},
	filter: {type: 'string'},
	'no-color': {type: 'boolean'},
	'no-mouse': {type: 'boolean'},
	'max-conns': {type: 'string'},
	'accept-owners': {type: 'boolean'},
	batch: {type: 'boolean', short: 'b'},
	iterations: {type: 'string', short: 'n'},
	metrics: {type: 'string'},
	view: {type: 'boolean'},
	record: {type: 'string'},
	replay: {type: 'string'},
	speed: {type: 'string'},
} as const;

function parsePorts(flag: string, text: string | undefined): number[] {
	if (text === undefined) {
		return [];
	}

	const ports = text.split(',').map(part => {
		const port = Number(part.trim());
		if (!/^\d+$/.test(part.trim()) || port < 1 || port > 65_535) {
			throw new UsageError(`--${flag}: '${part}' is not a port number (1-65535)`);
		}

		return port;
	});
	if (ports.length > 16) {
		throw new UsageError(`--${flag}: at most 16 ports`);
	}

	return ports;
}

function parsePositiveNumber(flag: string, text: string | undefined, integer: boolean): number | undefined {
	if (text === undefined) {
		return undefined;
	}

	const value = Number(text);
	if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
		throw new UsageError(`--${flag}: '${text}' is not a positive ${integer ? 'integer' : 'number'}`);
	}

	return value;
}

// Node's timers take at most 2^31 - 1 ms (24.8 days); longer ones would fire at once.
const maxSeconds = 2_000_000;

function parseSeconds(flag: string, text: string | undefined): number | undefined {
	const value = parsePositiveNumber(flag, text, false);
	if (value !== undefined && value > maxSeconds) {
		throw new UsageError(`--${flag}: '${text}' is more than ${maxSeconds} seconds (23 days)`);
	}

	return value;
}

const minSpeed = 0.001;
const maxSpeed = 1_000_000;

function parseSpeed(text: string | undefined): number {
	if (text === undefined) {
		return 1;
	}

	// Slower than a thousandth, a recorded second takes over a quarter of an hour.
	const value = Number(text);
	if (text.trim() === '' || !(value === 0 || (value >= minSpeed && value <= maxSpeed))) {
		throw new UsageError(`--speed: '${text}' is not 0 or a number from ${minSpeed} to ${maxSpeed.toLocaleString('en-US')}`);
	}

	return value;
}

function parseTransport(text: string | undefined): Transport {
	if (text === undefined || text === 'ringbuf' || text === 'perf') {
		return text ?? 'ringbuf';
	}

	throw new UsageError(`--transport: '${text}' is not ringbuf or perf`);
}

/** "trouble", or a column by its key or title, in any case and without punctuation: "in-state", "TX/s". */
function parseSortOrder(text: string | undefined): SortOrder | undefined {
	if (text === undefined) {
		return undefined;
	}

	const order = sortOrderNamed(text);
	if (!order) {
		throw new UsageError(`--sort: '${text}' is not trouble or a column (${columns.map(column => column.title.toLowerCase()).join(', ')})`);
	}

	return order;
}

/** A grouping by its name; none for "none". */
function parseGroupBy(text: string | undefined): GroupKind | undefined {
	if (text === undefined || text === 'none') {
		return undefined;
	}

	const kind = groupKindByKey(text.toLowerCase());
	if (!kind) {
		throw new UsageError(`--group-by: '${text}' is not none or one of ${groupKinds.map(group => group.key).join(', ')}`);
	}

	return kind;
}

/** The filter, from --filter or the words after the options (as one expression); not both. */
function parseFilter(option: string | undefined, words: readonly string[]): Filter | undefined {
	if (option !== undefined && words.length > 0) {
		throw new UsageError(`give the filter with --filter or as arguments, not both (found '${words[0]}')`);
	}

	const text = option ?? (words.length > 0 ? words.join(' ') : undefined);
	if (text === undefined) {
		return undefined;
	}

	const result = compileFilter(text);
	if (result.ok) {
		return result.filter;
	}

	const {message, position} = result.error;
	if (option === undefined && position === 0) {
		// A mistyped command reads as a filter that starts wrong: say it could be either.
		throw new UsageError(`unknown command or filter '${words[0]}': ${message}`);
	}

	throw new UsageError(`${option === undefined ? 'filter' : '--filter'}: ${message} (at character ${position + 1})`);
}

/** PORT (on loopback), HOST:PORT, [IPV6]:PORT, or :PORT for every address. */
function parseMetricsAddress(text: string): MetricsAddress {
	const match = /^(?:(?:\[([^\]]*)\]|([^:[\]]*)):)?(\d{1,5})$/.exec(text);
	const port = Number(match?.[3]);
	const host = match ? (match[1] ?? (match[2] === undefined ? '127.0.0.1' : match[2])) : '';
	const valid = match && port <= 65_535 && (match[1] === undefined
		? host === '' || host === 'localhost' || isIPv4(host)
		: isIPv6(host));
	if (!valid) {
		throw new UsageError(`--metrics: '${text}' is not PORT, ADDRESS:PORT, [IPV6]:PORT or :PORT`);
	}

	return {host: host === '' ? undefined : host, port};
}

/** Lines of text output: the terminal's width, else $COLUMNS, else every column in full. */
function outputWidth(): number | undefined {
	if (process.stdout.isTTY) {
		return process.stdout.columns;
	}

	const columns = Number(process.env.COLUMNS);
	return Number.isInteger(columns) && columns > 0 ? columns : undefined;
}

type OptionValues = {[K in keyof typeof optionSpec]?: (typeof optionSpec)[K]['type'] extends 'boolean' ? boolean : string};

/** What the mode reads: the recording given to --replay, else the kernel, recorded with --record. */
function captureSource(values: OptionValues, filter: CaptureFilter, warn: (message: string) => void, kernel: KernelSourceOptions = {}): TransitionSource {
	return openCapture(values, filter, warn, kernel).source;
}

/** The source, and the replay it reads (if it does) for the outputs that wait on its clock. */
function openCapture(values: OptionValues, filter: CaptureFilter, warn: (message: string) => void, kernel: KernelSourceOptions = {}): {source: TransitionSource; replay?: ReplaySource} {
	if (values.replay === undefined) {
		if (values.speed !== undefined) {
			throw new UsageError('--speed is for --replay');
		}

		const transport = parseTransport(values.transport);
		const source = new KernelSource({...kernel, transport, ...filter, warn});
		// The kernel verifies the programs on a worker thread while the rest of tcptop loads;
		// the run awaits it before starting (and a failure is reported then).
		source.prepare().catch(() => undefined);
		return {source: withRecording(source, values.record)};
	}

	for (const flag of ['record', 'transport'] as const) {
		if (values[flag] !== undefined) {
			throw new UsageError(`--${flag} cannot be used with --replay`);
		}
	}

	const replay = new ReplaySource(values.replay, {speed: parseSpeed(values.speed), warn});
	return {source: filtersSomething(filter) ? new FilteredSource(replay, filter) : replay, replay};
}

/** --netns: a namespace's inode (0 without it), as a name in /run/netns or a number. */
function parseNetns(text: string | undefined, replaying: boolean): number {
	if (text === undefined) {
		return 0;
	}

	if (/^\d+$/.test(text)) {
		const inode = Number(text);
		if (inode < 1 || inode >= 2 ** 32) {
			throw new UsageError(`--netns: '${text}' is not a namespace inode (1 to 4294967295)`);
		}

		// A recording's namespaces need not exist here.
		if (!replaying && !netNamespaceExists(inode)) {
			throw new UsageError(`--netns: no network namespace ${text} on this host (no process is in it, and none is named in /run/netns)`);
		}

		return inode;
	}

	if (replaying) {
		throw new UsageError('--netns: a replay takes a namespace by its inode (names are this host\'s)');
	}

	const inode = namedNamespaceInode(text);
	if (inode === undefined) {
		throw new UsageError(`--netns: no network namespace named '${text}' in /run/netns`);
	}

	return inode;
}

/** The table modes capture every connection, of one namespace with --netns: their filter is the ss-like language. */
function tableCaptureFilter(values: OptionValues): CaptureFilter {
	return {family: 0, pid: 0, localPorts: [], remotePorts: [], netns: parseNetns(values.netns, values.replay !== undefined)};
}

type Viewing = {
	readonly delaySeconds: number;
	readonly sortOrder: SortOrder | undefined;
	readonly groupBy: GroupKind | undefined;
	readonly filter: Filter | undefined;
	readonly table: ConnectionTable;
};

/** The options the live view and batch mode share. */
function parseViewing(values: OptionValues, words: readonly string[]): Viewing {
	const delaySeconds = parseSeconds('delay', values.delay) ?? 1;
	const sortOrder = parseSortOrder(values.sort);
	const groupBy = parseGroupBy(values['group-by']);
	const filter = parseFilter(values.filter, words);
	const maxConnections = parsePositiveNumber('max-conns', values['max-conns'], true);
	// A replay keeps the default: the recorded host's setting is not in the recording.
	const finTimeoutMs = values.replay === undefined ? hostFinTimeoutMs() : undefined;
	// A replay's processes and sockets are another host's: their control groups are not known here.
	const live = values.replay === undefined;
	const cgroups = {cgroupOf: live ? processCgroups() : undefined, cgroupOfId: live ? cgroupPaths() : undefined};
	return {delaySeconds, sortOrder, groupBy, filter, table: new ConnectionTable({maxConnections, finTimeoutMs, ...cgroups})};
}

/** How long this host keeps an orphaned FIN_WAIT2 (net.ipv4.tcp_fin_timeout); undefined if unreadable. */
function hostFinTimeoutMs(): number | undefined {
	try {
		const seconds = Number(readFileSync('/proc/sys/net/ipv4/tcp_fin_timeout', 'utf8').trim());
		return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
	} catch {
		return undefined;
	}
}

async function runInteractive(values: OptionValues, viewing: Viewing, startMetrics: () => Promise<unknown>): Promise<number> {
	// A replay's warnings show in the view, and on stderr once the terminal is given back.
	const warnings: string[] = [];
	// The saved settings (tcptoprc, the setup screen's), where the command line says nothing.
	const settings = loadSettings(message => warnings.push(message));
	const delaySeconds = values.delay === undefined ? settings.delaySeconds : viewing.delaySeconds;
	const sortOrder = viewing.sortOrder ?? sortOrderByKey(settings.sortKey) ?? troubleOrder;
	const groupBy = values['group-by'] === undefined ? settings.groupBy : viewing.groupBy?.key;
	const {filter, table} = viewing;
	const source = tableSource(values, {...viewing, delaySeconds}, message => warnings.push(message));
	if (!process.stdout.isTTY) {
		throw new UsageError('the live view needs a terminal on stdout; to a pipe or file, \'tcptop -b\' prints it and \'tcptop trace\' streams transitions');
	}

	// Ink decides once, when it is first imported, that it runs in CI if CI or
	// CONTINUOUS_INTEGRATION is set, and then draws nothing until it exits. tcptop has a real
	// terminal here (checked above), so a CI variable left in a shell must not blank the screen:
	// they are removed before the view, and with it Ink, is loaded.
	delete process.env.CI;
	delete process.env.CONTINUOUS_INTEGRATION;
	// React's development build records a performance measure for every render, without bound.
	process.env.NODE_ENV = 'production';
	const {runView, initialViewState, replayOrigin: replayViewOrigin, debugLines, inkInternals} = await (await import('./ui/load-view.js')).loadView();
	if (values.debug) {
		// Which of Ink's internals the view uses with the Ink installed (src/ui/ink-internals.ts).
		for (const line of debugLines(await inkInternals())) {
			process.stderr.write(`tcptop: ${line}\n`);
		}
	}

	const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
	await startMetrics();
	try {
		await runView(source, table, {
			delaySeconds,
			initialView: initialViewState({sortKey: sortOrder.key, filter, groupBy, settings: {...settings, sortKey: sortOrder.key, groupBy}}),
			color: !values['no-color'] && !noColorEnv && settings.color,
			saveSettings(edited) {
				try {
					saveSettings(edited);
					return undefined;
				} catch (error) {
					return `settings not saved: ${(error as Error).message}`;
				}
			},
			mouse: !values['no-mouse'],
			origin: source instanceof ReplaySource ? replayViewOrigin(source, warnings) : undefined,
		});
	} finally {
		for (const warning of warnings) {
			process.stderr.write(`tcptop: ${warning}\n`);
		}
	}

	return 0;
}

async function runBatchMode(values: OptionValues, viewing: Viewing, startMetrics: () => Promise<unknown>): Promise<number> {
	const {delaySeconds, sortOrder, groupBy, filter, table} = viewing;
	const iterations = parsePositiveNumber('iterations', values.iterations, true);
	if (groupBy && filter) {
		throw new UsageError('-b --group-by counts every connection: give it no filter');
	}

	const order = sortOrder ?? troubleOrder;
	// One print is one walk of the sockets, printed at once: nothing a tracepoint would see
	// could reach it.
	const source = tableSource(values, viewing, warnOnStderr, {passesOnly: iterations === 1});
	await startMetrics();
	// A replay prints on the recording's clock, as the recorded host.
	const origin = source instanceof ReplaySource ? replayOrigin(source) : liveOrigin();
	await runBatch(source, table, origin, {
		format: values.json ? 'json' : 'text',
		iterations,
		delaySeconds,
		order,
		descending: order.descendingByDefault,
		filter,
		groupBy,
		width: outputWidth(),
		readerGone: source instanceof ReplaySource ? undefined : () => readerGone(1),
	}, process.stdout);
	return 0;
}

/**
 * The source of the modes built on the connection table: of the kernel, a socket pass every
 * refresh for each connection's counters (and, every fifth, to reconcile with the kernel).
 */
function tableSource(values: OptionValues, viewing: Viewing, warn: (message: string) => void, kernel: KernelSourceOptions = {}): TransitionSource {
	const filter = tableCaptureFilter(values);
	// With --netns, the counters of that namespace, as its rows and per-state counts are.
	const netCounters = filter.netns && values.replay === undefined ? {netCounters: netCountersOf(filter.netns)} : {};
	return captureSource(values, filter, warn, {passIntervalMs: viewing.delaySeconds * 1000, acceptOwners: values['accept-owners'] ?? false, ...netCounters, ...kernel});
}

function warnOnStderr(message: string): void {
	process.stderr.write(`tcptop: ${message}\n`);
}

/** The modes built on the connection table: the live view, batch mode, metrics. */
async function runTable(values: OptionValues, words: readonly string[]): Promise<number> {
	const metricsAddress = values.metrics === undefined ? undefined : parseMetricsAddress(values.metrics);
	if (values.iterations !== undefined && !values.batch) {
		throw new UsageError('-n needs -b (batch mode)');
	}

	if (values.json && !values.batch) {
		throw new UsageError('--json needs -b (batch mode), or the trace command');
	}

	if (values.view && values.batch) {
		throw new UsageError('-b and --view cannot be used together');
	}

	// Metrics count this host's connections for a scraper, not a recording's.
	if (values.replay !== undefined && metricsAddress !== undefined) {
		throw new UsageError('--metrics cannot be used with --replay');
	}

	if (values.events) {
		throw new UsageError('--events is for trace; the live view, -b and --metrics count retransmits and drops');
	}

	// The stream's options: the table modes show every connection (their filter is the ss-like
	// language) and run until stopped.
	for (const option of ['ipv4', 'ipv6', 'lport', 'rport', 'pid', 'duration'] as const) {
		if (values[option] !== undefined) {
			const flag = option === 'ipv4' ? '-4' : option === 'ipv6' ? '-6' : `--${option}`;
			throw new UsageError(`${flag} is for trace; the live view, -b and --metrics take a filter (e.g. 'dport = :443')`);
		}
	}

	const headless = metricsAddress !== undefined && !values.batch && !values.view;
	if (headless && (values.filter !== undefined || words.length > 0)) {
		throw new UsageError('metrics count every connection: a filter applies to the live view and -b');
	}

	const viewing = parseViewing(values, words);
	let metrics: MetricsServer | undefined;
	// Listening comes before the capture starts, so a port in use fails before anything attaches.
	const startMetrics = async () => {
		if (metricsAddress) {
			const {metricsRegistry, MetricsServer} = await import('./output/metrics.js');
			metrics = await MetricsServer.start(metricsRegistry(viewing.table, monotonicNow), metricsAddress);
			if (!values.view) {
				process.stderr.write(`tcptop: serving metrics at ${metrics.url}\n`);
			}
		}
	};

	try {
		if (values.batch) {
			return await runBatchMode(values, viewing, startMetrics);
		}

		if (headless) {
			const source = tableSource(values, viewing, warnOnStderr);
			await startMetrics();
			const {runHeadless} = await import('./output/metrics.js');
			await runHeadless(source, viewing.table);
			return 0;
		}

		return await runInteractive(values, viewing, startMetrics);
	} catch (error) {
		printLibbpfLog(values, error);
		throw error;
	} finally {
		await metrics?.close();
	}
}

/** With --debug, libbpf's output (the verifier's log among it) when the program did not load. */
function printLibbpfLog(values: OptionValues, error: unknown): void {
	const captureError = error as CaptureError;
	if (values.debug && captureError.libbpfLog) {
		process.stderr.write(captureError.libbpfLog);
	}
}

function version(): string {
	const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {version: string};
	return manifest.version;
}

async function main(argv: string[]): Promise<number> {
	let parsed;
	try {
		parsed = parseArgs({args: argv, options: optionSpec, allowPositionals: true, strict: true});
	} catch (error) {
		// Node's own messages go on with advice about '--'; the first sentence is the point.
		throw new UsageError((error as Error).message.split(/\. |\n/)[0]);
	}

	const {values, positionals} = parsed;
	if (values.help) {
		process.stdout.write(help);
		return 0;
	}

	if (values.version) {
		process.stdout.write(`tcptop ${version()}\n`);
		return 0;
	}

	const [command, ...rest] = positionals;
	if (command !== 'trace') {
		return runTable(values, positionals);
	}

	if (rest.length > 0) {
		throw new UsageError(`unexpected argument '${rest[0]}'`);
	}

	for (const option of ['batch', 'iterations', 'metrics', 'view', 'accept-owners'] as const) {
		if (values[option] !== undefined) {
			throw new UsageError(`--${option} does not apply to trace`);
		}
	}

	if (values.ipv4 && values.ipv6) {
		throw new UsageError('-4 and -6 cannot be used together');
	}

	if (values.events && values.replay !== undefined) {
		throw new UsageError('--events cannot be used with --replay: a recording holds no retransmits or drops');
	}

	const durationSeconds = parseSeconds('duration', values.duration);
	const {source, replay} = openCapture(values, {
		family: values.ipv4 ? 4 : values.ipv6 ? 6 : 0,
		pid: parsePositiveNumber('pid', values.pid, true) ?? 0,
		localPorts: parsePorts('lport', values.lport),
		remotePorts: parsePorts('rport', values.rport),
		netns: parseNetns(values.netns, values.replay !== undefined),
	}, warnOnStderr, {
		// The stream shows the task on the CPU, so it leaves accept() untraced.
		acceptOwners: false,
		traceEvents: values.events ?? false,
	});
	try {
		// A live trace's reader may go while nothing is written; a replay writes until its end.
		const watchReader = replay === undefined ? () => readerGone(1) : undefined;
		return await runTrace(source, {format: values.json ? 'json' : 'text', durationSeconds, ipv6Only: values.ipv6, replay: replay && replayOrigin(replay), readerGone: watchReader}, process.stdout, process.stderr);
	} catch (error) {
		printLibbpfLog(values, error);
		throw error;
	}
}

// Under churn the JS heap fills with short-lived decoded events, and V8 lets it grow to several
// times the live data before collecting (resident memory 300-435 MiB under two minutes of
// 22,000 connections a second, the live data 30-80 MiB). A growth factor of 1.4 keeps it closer.
v8.setFlagsFromString('--heap-growing-percent=40');

try {
	process.exitCode = await main(process.argv.slice(2));
} catch (error) {
	if (error instanceof UsageError) {
		process.stderr.write(`tcptop: ${error.message} (see tcptop --help)\n`);
		process.exitCode = 2;
	} else {
		process.stderr.write(`tcptop: ${(error as Error).message}\n`);
		process.exitCode = 1;
	}
}
