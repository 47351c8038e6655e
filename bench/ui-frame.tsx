/** @jsxRuntime automatic @jsxImportSource react */
// Whole frames of the live view with 100,000 tracked connections, in a fake 200x56 terminal
// (50 list rows): the time from the refresh tick to the frame written (the table's sweep, the
// rows picked and formatted, React, Ink's layout and output), and the bytes written per
// steady-state frame. Side by side, sort by sort: Ink's own output step and standard
// rendering (whole frames; tcptop before), Ink's incremental rendering (for its bytes: it
// garbles a real terminal), and tcptop's way (the fast Output.get, Ink's debug mode into
// FrameWriter, which sends only changed lines). The clock moves a second per frame, so ages,
// rates and sparklines change as they do live. Wall time counts waiting for a busy
// machine's CPU; CPU time is the process's own.
//
//   NODE_ENV=production node --import=tsx bench/ui-frame.tsx [connections=100000] [rounds=2]
// (NODE_ENV before React loads, as the CLI sets it: the development build is several times slower)
import {PassThrough} from 'node:stream';
import {performance} from 'node:perf_hooks';
import {render} from 'ink';
import {ConnectionTable} from '../src/model/connection-table.js';
import {App} from '../src/ui/app.js';
import {installFastOutput, removeFastOutput} from '../src/ui/fast-output.js';
import {FrameWriter} from '../src/ui/frame-writer.js';
import {colorTheme, ThemeContext} from '../src/ui/theme.js';
import {initialViewState} from '../src/ui/view-state.js';
import {fillTable} from './fill-table.js';

const connections = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 2);
const frames = 15;
const delaySeconds = 0.2;

function terminal(columns: number, rows: number) {
	const stdout = Object.assign(new PassThrough(), {columns, rows, isTTY: true});
	const stdin = Object.assign(new PassThrough(), {isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin});
	return {stdout, stdin};
}

type Result = {medianMs: number; cpuMs: number; bytes: number};

type Mode = 'standard' | 'incremental' | 'tcptop';

async function run(table: ConnectionTable, sortKey: string, descending: boolean, mode: Mode): Promise<Result> {
	if (mode === 'tcptop') {
		await installFastOutput();
	} else {
		removeFastOutput();
	}

	const clock = {now: 20_000};
	const sweep = table.sweep.bind(table);
	let tickAt = 0;
	let cpuAt = process.cpuUsage();
	let ticks = 0;
	table.sweep = nowMs => {
		ticks++;
		clock.now += 1000;
		tickAt = performance.now();
		cpuAt = process.cpuUsage();
		sweep(nowMs);
	};

	const times: number[] = [];
	const cpu: number[] = [];
	const bytes: number[] = [];
	const {stdout, stdin} = terminal(200, 56);
	// Ink writes a frame in a few chunks (synchronized-update markers around it), all within the tick.
	stdout.on('data', (chunk: Buffer) => {
		if (tickAt > 0) {
			times[ticks - 1] = performance.now() - tickAt;
			const used = process.cpuUsage(cpuAt);
			cpu[ticks - 1] = (used.user + used.system) / 1000;
			bytes[ticks - 1] = (bytes[ticks - 1] ?? 0) + chunk.length;
		}
	});
	const writer = mode === 'tcptop' ? new FrameWriter(stdout as unknown as NodeJS.WriteStream) : undefined;
	const instance = render(
		<ThemeContext.Provider value={colorTheme}>
			<App table={table} now={() => clock.now} startedAtMs={0} host="bench" kernel="6.18" delaySeconds={delaySeconds}
				initialView={initialViewState({sortKey, descending})} />
		</ThemeContext.Provider>,
		{
			stdout: (writer ?? stdout) as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream,
			exitOnCtrlC: false, patchConsole: false, maxFps: 10, incrementalRendering: mode === 'incremental', debug: mode === 'tcptop',
		},
	);
	while (ticks < frames) {
		await new Promise(resolve => setTimeout(resolve, delaySeconds * 1000));
	}

	instance.unmount();
	writer?.end();
	table.sweep = sweep;
	// The first frames build the screen; the steady state is what follows.
	const median = (values: number[]) => {
		const sorted = values.slice(3).filter(value => value !== undefined).sort((a, b) => a - b);
		return sorted[sorted.length >> 1]!;
	};

	return {medianMs: median(times), cpuMs: median(cpu), bytes: median(bytes)};
}

const table = fillTable(connections);
console.log(`${table.size.toLocaleString('en-US')} connections, 200x56 terminal (50 rows), median of ${frames - 3} steady frames, ${rounds} rounds`);
console.log('                 CPU ms a frame (wall)                      bytes a frame');
console.log('sort      round  Ink standard    tcptop         ratio     Ink standard  Ink incremental  tcptop  ratio');
for (const [sortKey, descending] of [['inState', true], ['local', true], ['age', false], ['tx', true], ['remote', false], ['pid', false]] as const) {
	for (let round = 1; round <= rounds; round++) {
		const standard = await run(table, sortKey, descending, 'standard');
		const tcptop = await run(table, sortKey, descending, 'tcptop');
		const incremental = round === 1 ? await run(table, sortKey, descending, 'incremental') : undefined;
		const ms = (result: Result) => `${result.cpuMs.toFixed(1)} (${result.medianMs.toFixed(1)})`.padEnd(14);
		console.log(`${`${sortKey} ${descending ? '▼' : '▲'}`.padEnd(10)}${String(round).padEnd(7)}${ms(standard)}  ${ms(tcptop)} ${(tcptop.cpuMs / standard.cpuMs).toFixed(2).padEnd(9)} ${String(standard.bytes).padStart(12)} ${String(incremental?.bytes ?? '').padStart(16)} ${String(tcptop.bytes).padStart(7)}  ${(tcptop.bytes / standard.bytes).toFixed(2)}`);
	}
}

process.exit(0);
