// The command line: parses arguments, picks a mode, turns every failure into one line on
// stderr and an exit code (2: usage, 1: runtime).
import {readFileSync} from 'node:fs';
import {parseArgs} from 'node:util';
import type {CaptureError, Transport} from './capture/addon.js';
import {FilteredSource, type CaptureFilter} from './capture/filtered-source.js';
import {KernelSource} from './capture/kernel-source.js';
import {withRecording} from './capture/recording-source.js';
import {ReplaySource} from './capture/replay-source.js';
import type {TransitionSource} from './capture/source.js';
import {columns, type Column} from './model/columns.js';
import {compileFilter, type Filter} from './model/filter.js';
import {runTrace} from './output/trace.js';

const help = `Usage: tcptop [command] [options]

top for TCP: every TCP connection on this host and every state change it makes,
captured live by eBPF. Needs root, or CAP_BPF and CAP_PERFMON.

Without a command, tcptop shows the connections live on the terminal (? for keys).

Commands:
  trace              stream every TCP state transition, one per line
                     (columns: TIME PID COMM LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS)

Options for the live view:
  -d, --delay SECS   refresh interval (default 1)
  --sort COLUMN      sort by pid, command, local, remote, state, age, in-state, tx, rx,
                     rtt or retrans (default in-state)
  --filter EXPR      show only connections matching EXPR (ss syntax, e.g.
                     'state close-wait and dport = :5432')
  --no-color         no colours (also when NO_COLOR is set)
  --max-conns N      track at most N connections (default 65536)
  --transport KIND   ringbuf (default) or perf

Options for trace:
  --json             one JSON object per transition (NDJSON)
  -4, -6             IPv4 or IPv6 only
  --lport LIST       only these local ports (comma-separated, at most 16)
  --rport LIST       only these remote ports (comma-separated, at most 16)
  --pid PID          only sockets of this process
  --transport KIND   ringbuf (default) or perf
  --duration SECS    stop after this many seconds
  --debug            on a load failure, print libbpf's output (the verifier log)

Recording and replay (the live view and trace):
  --record FILE      also write everything captured to FILE (see README, Recording format)
  --replay FILE      read a recording instead of the kernel (no root needed); trace's
                     filters apply to what it holds
  --speed X          replay at X times the recorded pace (default 1; 0: as fast as possible)

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
	transport: {type: 'string'},
	duration: {type: 'string'},
	debug: {type: 'boolean'},
	delay: {type: 'string', short: 'd'},
	sort: {type: 'string'},
	filter: {type: 'string'},
	'no-color': {type: 'boolean'},
	'max-conns': {type: 'string'},
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

function parseSpeed(text: string | undefined): number {
	if (text === undefined) {
		return 1;
	}

	const value = Number(text);
	if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
		throw new UsageError(`--speed: '${text}' is not a number >= 0`);
	}

	return value;
}

function parseTransport(text: string | undefined): Transport {
	if (text === undefined || text === 'ringbuf' || text === 'perf') {
		return text ?? 'ringbuf';
	}

	throw new UsageError(`--transport: '${text}' is not ringbuf or perf`);
}

/** A column by its key or title, in any case and without punctuation: "in-state", "TX/s". */
function parseSortColumn(text: string | undefined): Column | undefined {
	if (text === undefined) {
		return undefined;
	}

	const wanted = normalised(text);
	const column = columns.find(column => normalised(column.key) === wanted || normalised(column.title) === wanted);
	if (!column) {
		throw new UsageError(`--sort: '${text}' is not a column (${columns.map(column => column.title.toLowerCase()).join(', ')})`);
	}

	return column;
}

function normalised(name: string): string {
	return name.toLowerCase().replace(/\/s$/, '').replace(/[^a-z]/g, '');
}

function parseFilter(text: string | undefined): Filter | undefined {
	if (text === undefined) {
		return undefined;
	}

	const result = compileFilter(text);
	if (!result.ok) {
		throw new UsageError(`--filter: ${result.error.message} (at character ${result.error.position + 1})`);
	}

	return result.filter;
}

type OptionValues = {[K in keyof typeof optionSpec]?: (typeof optionSpec)[K]['type'] extends 'boolean' ? boolean : string};

/** What the mode reads: the recording given to --replay, else the kernel, recorded with --record. */
function captureSource(values: OptionValues, filter: CaptureFilter, warn: (message: string) => void): TransitionSource {
	if (values.replay === undefined) {
		if (values.speed !== undefined) {
			throw new UsageError('--speed is for --replay');
		}

		const transport = parseTransport(values.transport);
		return withRecording(new KernelSource({transport, ...filter}), values.record);
	}

	for (const flag of ['record', 'transport'] as const) {
		if (values[flag] !== undefined) {
			throw new UsageError(`--${flag} cannot be used with --replay`);
		}
	}

	const replay = new ReplaySource(values.replay, {speed: parseSpeed(values.speed), warn});
	const filtered = filter.family !== 0 || filter.pid !== 0 || filter.localPorts.length > 0 || filter.remotePorts.length > 0;
	return filtered ? new FilteredSource(replay, filter) : replay;
}

const noFilter: CaptureFilter = {family: 0, pid: 0, localPorts: [], remotePorts: []};

async function runInteractive(values: OptionValues): Promise<number> {
	const delaySeconds = parsePositiveNumber('delay', values.delay, false) ?? 1;
	const sortColumn = parseSortColumn(values.sort);
	const filter = parseFilter(values.filter);
	const maxConnections = parsePositiveNumber('max-conns', values['max-conns'], true);
	// A replay's warnings show in the view, and on stderr once the terminal is given back.
	const warnings: string[] = [];
	const source = captureSource(values, noFilter, message => warnings.push(message));
	if (!process.stdout.isTTY) {
		throw new UsageError('the live view needs a terminal on stdout; \'tcptop trace\' streams transitions to a pipe or file');
	}

	// Ink decides once, when it is first imported, that it runs in CI if CI or
	// CONTINUOUS_INTEGRATION is set, and then draws nothing until it exits. tcptop has a real
	// terminal here (checked above), so a CI variable left in a shell must not blank the screen:
	// they are removed before the view, and with it Ink, is loaded.
	delete process.env.CI;
	delete process.env.CONTINUOUS_INTEGRATION;
	// React's development build records a performance measure for every render, without bound.
	process.env.NODE_ENV = 'production';
	const [{runView}, {initialViewState}, {replayOrigin}] = await Promise.all([import('./ui/run-view.js'), import('./ui/view-state.js'), import('./ui/view-origin.js')]);
	const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
	try {
		await runView(source, {
			delaySeconds,
			initialView: initialViewState({sortKey: sortColumn?.key ?? 'inState', filter}),
			color: !values['no-color'] && !noColorEnv,
			maxConnections,
			origin: source instanceof ReplaySource ? replayOrigin(source, warnings) : undefined,
		});
	} finally {
		for (const warning of warnings) {
			process.stderr.write(`tcptop: ${warning}\n`);
		}
	}

	return 0;
}

function version(): string {
	const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {version: string};
	return manifest.version;
}

async function main(argv: string[]): Promise<number> {
	let parsed;
	try {
		parsed = parseArgs({args: argv, options: optionSpec, allowPositionals: true, strict: true});
	} catch (error) {
		// Node's own messages go on with advice about '--'; the first sentence is the point.
		throw new UsageError((error as Error).message.split(/\. |\n/)[0]!);
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
	if (command === undefined) {
		return runInteractive(values);
	}

	if (command !== 'trace') {
		throw new UsageError(`unknown command '${command}'`);
	}

	if (rest.length > 0) {
		throw new UsageError(`unexpected argument '${rest[0]}'`);
	}

	if (values.ipv4 && values.ipv6) {
		throw new UsageError('-4 and -6 cannot be used together');
	}

	const durationSeconds = parsePositiveNumber('duration', values.duration, false);
	const source = captureSource(values, {
		family: values.ipv4 ? 4 : values.ipv6 ? 6 : 0,
		pid: parsePositiveNumber('pid', values.pid, true) ?? 0,
		localPorts: parsePorts('lport', values.lport),
		remotePorts: parsePorts('rport', values.rport),
	}, message => process.stderr.write(`tcptop: ${message}\n`));
	try {
		return await runTrace(source, {format: values.json ? 'json' : 'text', durationSeconds, ipv6Only: values.ipv6}, process.stdout, process.stderr);
	} catch (error) {
		const captureError = error as CaptureError;
		if (values.debug && captureError.libbpfLog) {
			process.stderr.write(captureError.libbpfLog);
		}

		throw error;
	}
}

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
