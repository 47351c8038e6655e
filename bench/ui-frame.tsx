/** @jsxRuntime automatic @jsxImportSource react */
// Whole frames of the live view with 100,000 tracked connections, in a fake 200x56 terminal
// (50 list rows): the time from the refresh tick to the frame written (the table's sweep, the
// rows picked and formatted, React, Ink's layout and output), and the bytes written per
// steady-state frame, with Ink's standard rendering next to its incremental one (only
// changed lines). The clock moves a second per frame, so ages and rates change as they do live.
// Wall time counts waiting for a busy machine's CPU; CPU time is the process's own.
//
//   NODE_ENV=production node --import=tsx bench/ui-frame.tsx [connections=100000]
// (NODE_ENV before React loads, as the CLI sets it: the development build is several times slower)
import {PassThrough} from 'node:stream';
import {performance} from 'node:perf_hooks';
import {render} from 'ink';
import {ConnectionTable} from '../src/model/connection-table.js';
import {App} from '../src/ui/app.js';
import {colorTheme, ThemeContext} from '../src/ui/theme.js';
import {initialViewState} from '../src/ui/view-state.js';
import {fillTable} from './fill-table.js';

const connections = Number(process.argv[2] ?? 100_000);
const frames = 15;
const delaySeconds = 0.2;

function terminal(columns: number, rows: number) {
	const stdout = Object.assign(new PassThrough(), {columns, rows, isTTY: true});
	const stdin = Object.assign(new PassThrough(), {isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin});
	return {stdout, stdin};
}

type Result = {medianMs: number; cpuMs: number; bytes: number};

async function run(table: ConnectionTable, sortKey: string, descending: boolean, incremental: boolean): Promise<Result> {
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
	const instance = render(
		<ThemeContext.Provider value={colorTheme}>
			<App table={table} now={() => clock.now} startedAtMs={0} host="bench" kernel="6.18" delaySeconds={delaySeconds}
				initialView={initialViewState({sortKey, descending})} />
		</ThemeContext.Provider>,
		{stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, exitOnCtrlC: false, patchConsole: false, maxFps: 10, incrementalRendering: incremental},
	);
	while (ticks < frames) {
		await new Promise(resolve => setTimeout(resolve, delaySeconds * 1000));
	}

	instance.unmount();
	table.sweep = sweep;
	// The first frames build the screen; the steady state is what follows.
	const median = (values: number[]) => {
		const sorted = values.slice(3).filter(value => value !== undefined).sort((a, b) => a - b);
		return sorted[sorted.length >> 1]!;
	};

	return {medianMs: median(times), cpuMs: median(cpu), bytes: median(bytes)};
}

const table = fillTable(connections);
console.log(`${table.size.toLocaleString('en-US')} connections, 200x56 terminal (50 rows), median of ${frames - 3} steady frames`);
console.log('sort            frame ms (wall / CPU)   bytes a frame: standard  incremental  ratio');
for (const [sortKey, descending] of [['inState', true], ['local', true], ['age', false], ['tx', true], ['remote', false], ['pid', false]] as const) {
	const standard = await run(table, sortKey, descending, false);
	const incremental = await run(table, sortKey, descending, true);
	console.log(`${`${sortKey} ${descending ? '▼' : '▲'}`.padEnd(15)} ${standard.medianMs.toFixed(1).padStart(8)} / ${standard.cpuMs.toFixed(1).padEnd(13)} ${String(standard.bytes).padStart(22)} ${String(incremental.bytes).padStart(12)}  ${(incremental.bytes / standard.bytes).toFixed(2)}`);
}

process.exit(0);
