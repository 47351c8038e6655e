// tsconfig.json covers src/ only, so tsx compiles this file without its jsx setting.
/** @jsxRuntime automatic @jsxImportSource react */
import './helpers/ui-env.js';
import test from 'ava';
import {TcpState} from '../src/core/transition.js';
import {established, keys, plain, renderView, rowLines, transition} from './helpers/ui.js';

/** The group list's rows: the lines after its title bar (PROCESS, SERVICE, ...) up to the next pane. */
function groupLines(frame: string, title: string): string[] {
	const lines = plain(frame).split('\n');
	const at = lines.findIndex(line => line.startsWith(title) && line.includes('CONNS'));
	if (at === -1) {
		return [];
	}

	const end = lines.findIndex((line, index) => index > at && (line.trim() === '' || line.startsWith('TRANSITION')));
	return lines.slice(at + 1, end === -1 ? undefined : end);
}

test('g groups the list by process, trouble first; Enter opens a group\'s connections, Esc goes back to the groups', async t => {
	const view = renderView(t, {columns: 120, rows: 30});
	await view.press('g');
	await view.until(frame => plain(frame).includes('Groups: PROCESS'));
	const start = view.clock.now;
	view.source.push([
		...[0, 1, 2].flatMap(index => established({monoMs: start + 10, pid: 500, comm: 'curl', lport: 41_000 + index, rport: 443})),
		...[0, 1].flatMap(index => established({monoMs: start + 10, pid: 600, comm: 'psql', lport: 42_000 + index, rport: 5432})),
		// One of psql's is reset by its peer: psql's group is in trouble.
		transition({oldstate: TcpState.ESTABLISHED, newstate: TcpState.CLOSE, monoMs: start + 20, lport: 42_000, rport: 5432, pid: 0, comm: 'swapper/0'}),
	]);
	view.clock.now = start + 1000;
	let frame = await view.until(frame => groupLines(frame, 'PROCESS').length === 2 && plain(frame).includes('RST/s'));
	const [first, second] = groupLines(frame, 'PROCESS');
	t.regex(first!, /^psql 600 +2 +2\.0 +0 +1\.0 .*ESTAB 1 · CLOSED 1/, 'the group with a reset first');
	t.regex(second!, /^curl 500 +3 +3\.0 +0 +0 .*ESTAB 3/);
	t.regex(plain(frame), /2 groups of 5 connections/);

	// Enter on the selected group (the first): psql's connections only.
	await view.press(keys.enter);
	frame = await view.until(frame => plain(frame).includes('Group: PROCESS psql 600 (Esc back)'));
	const rows = rowLines(frame);
	t.is(rows.length, 2);
	t.true(rows.every(row => row.includes('psql')));
	// Esc: the groups again, the selection where it was.
	await view.press(keys.down, keys.escape);
	frame = await view.until(frame => plain(frame).includes('Groups: PROCESS'));
	t.true(/\u001B\[7m[^\n]*psql 600/.test(frame), 'psql\'s group still selected');

	// g again: the next grouping; F6 lists the groups' orders; > sorts by the next column.
	await view.press('g');
	frame = await view.until(frame => plain(frame).includes('Groups: REMOTE HOST'));
	t.deepEqual(groupLines(frame, 'REMOTE HOST').map(line => line.split(/ +/)[0]), ['127.0.0.1']);
	await view.press('\u001B[17~');
	frame = await view.until(frame => plain(frame).includes('Sort groups by'));
	t.regex(plain(frame), /TROUBLE[\s\S]*REMOTE HOST[\s\S]*CONNS[\s\S]*NEW\/s/);
	await view.press(keys.escape, '>');
	await view.until(frame => /REMOTE HOST▲/.test(plain(frame)));
	// Round the kinds to none: the connection list again.
	await view.press('g', 'g', 'g', 'g', 'g');
	frame = await view.until(frame => rowLines(frame).length === 5);
	t.false(plain(frame).includes('Groups:'));
});

test('/ in the group list finds a group by name', async t => {
	const view = renderView(t, {columns: 120, rows: 30});
	await view.press('g');
	await view.until(frame => plain(frame).includes('Groups: PROCESS'));
	view.source.push(['alpha', 'bravo', 'charlie'].flatMap((comm, index) => established({monoMs: view.clock.now, pid: 700 + index, comm, lport: 43_000 + index})));
	view.clock.now += 1000;
	await view.until(frame => groupLines(frame, 'PROCESS').length === 3);
	await view.press('/', ...'bravo', keys.enter);
	const frame = await view.until(frame => /\u001B\[7m[^\n]*bravo 701/.test(frame));
	t.regex(plain(frame), /Search: bravo \(n N\)/);
});

test('the Transitions pane shows a timed edge\'s p50 and p99; Enter on it opens its distribution', async t => {
	const view = renderView(t, {columns: 140, rows: 40});
	const start = view.clock.now;
	// Five handshakes: four of 2 ms, one of 30 ms.
	view.source.push([0, 1, 2, 3, 4].flatMap(index => {
		const sock = 900 + index;
		const lport = 44_000 + index;
		return [
			transition({sock, oldstate: TcpState.CLOSE, newstate: TcpState.SYN_SENT, monoMs: start + index, lport: 0}),
			transition({sock, oldstate: TcpState.SYN_SENT, newstate: TcpState.ESTABLISHED, monoMs: start + index + (index === 4 ? 30 : 2), lport}),
		];
	}));
	view.clock.now = start + 1000;
	// HdrHistogram gives a value's bucket's top: 2 ms is 2.00-2.02 ms.
	let frame = await view.until(frame => /SYN-SENT → ESTAB.*2\.0\dms/.test(plain(frame)));
	const edgeLine = plain(frame).split('\n').find(line => line.includes('SYN-SENT → ESTAB'))!;
	t.regex(edgeLine, /2\.0\dms +30ms/, 'p50 and p99 on the edge\'s row');
	t.notRegex(plain(frame).split('\n').find(line => line.includes('CLOSED → SYN-SENT'))!, /ms/, 'an edge without times has none');
	// Tab to the pane, down to the edge (after the four named rows and CLOSED -> SYN-SENT), Enter.
	await view.press('\t', keys.down, keys.down, keys.down, keys.down, keys.down, keys.enter);
	frame = await view.until(frame => plain(frame).includes('handshake (client)'));
	t.regex(plain(frame), /SYN-SENT → ESTAB: handshake \(client\), the time in SYN-SENT/);
	t.regex(plain(frame), /last 60s +5 +2\.0\dms +30ms +30ms +30ms/);
	// Bars: four in the 2 ms bucket, one in the 30 ms one.
	t.regex(plain(frame), /1\.02ms–2\.05ms █+ 4/);
	t.regex(plain(frame), /16ms–33ms █+ 1/);
	await view.press(keys.escape);
	await view.until(frame => !plain(frame).includes('handshake (client)'));
});

test('the mouse: a click on a row selects it, on a column title sorts by it (again: the other way), the wheel moves the selection', async t => {
	const view = renderView(t, {columns: 120, rows: 30, sortKey: 'local'});
	view.source.push(Array.from({length: 12}, (_, index) => established({monoMs: view.clock.now - 1000, pid: 800 + index, comm: 'app', lport: 45_000 + index})).flat());
	await view.until(frame => rowLines(frame).length === 12);
	const selected = (frame: string) => /\u001B\[7m[^\n]*?:(45\d{3})/.exec(frame)?.[1];
	// A press and its release, as a terminal reports a click; the wheel has no release.
	const mouse = (button: number, x: number, y: number) => [`\u001B[<${button};${x};${y}M`, ...(button >= 64 ? [] : [`\u001B[<${button};${x};${y}m`])];
	// Rows 1-4 are the header, 5 the list's title; the fourth row is on line 9.
	await view.press(...mouse(0, 30, 9));
	await view.until(frame => selected(frame) === '45003');
	await view.press(...mouse(65, 30, 9));
	await view.until(frame => selected(frame) === '45006');
	await view.press(...mouse(64, 30, 9), ...mouse(64, 30, 9));
	await view.until(frame => selected(frame) === '45000');
	// PID is the first column (x 1-7): sorted by it; clicked again, the other way.
	await view.press(...mouse(0, 3, 5));
	await view.until(frame => plain(frame).includes('Sort: PID ▲'));
	await view.press(...mouse(0, 3, 5));
	let frame = await view.until(frame => plain(frame).includes('Sort: PID ▼'));
	t.regex(rowLines(frame)[0]!, /^ +811 /);
	// Grouped, a click on CONNS (after the 24-column name) sorts the groups by it.
	// (The click once the groups are drawn: a click reads the layout of the last frame drawn.)
	await view.press('g');
	await view.until(frame => plain(frame).includes('Groups: PROCESS'));
	await view.press(...mouse(0, 28, 5));
	frame = await view.until(frame => plain(frame).includes('Sort: CONNS ▼'));
	t.regex(plain(frame), /Groups: PROCESS/);
});

test('i on a group opens its detail: its figures, and its handshakes over 10 and 60 s as quantiles and bars', async t => {
	const view = renderView(t, {columns: 140, rows: 40});
	await view.press('g');
	await view.until(frame => plain(frame).includes('Groups: PROCESS'));
	const start = view.clock.now;
	view.source.push([0, 1, 2, 3, 4].flatMap(index => [
		transition({sock: 950 + index, oldstate: TcpState.CLOSE, newstate: TcpState.SYN_SENT, monoMs: start + index, lport: 0, pid: 321, comm: 'fetcher'}),
		transition({sock: 950 + index, oldstate: TcpState.SYN_SENT, newstate: TcpState.ESTABLISHED, monoMs: start + index + (index === 4 ? 30 : 2), lport: 47_000 + index}),
	]));
	view.clock.now = start + 1000;
	await view.until(frame => plain(frame).includes('fetcher 321'));
	await view.press('i');
	const frame = plain(await view.until(frame => plain(frame).includes('PROCESS fetcher 321: handshakes')));
	t.regex(frame, /CONNS 5 · NEW\/s 5\.0 ·/);
	t.regex(frame, /last 10s +5 +2\.0\dms +30ms +30ms +30ms/);
	t.regex(frame, /last 60s +5 +2\.0\dms/);
	t.regex(frame, /1\.02ms–2\.05ms █+ 4/);
	await view.press(keys.escape);
	await view.until(frame => plain(frame).includes('Groups: PROCESS') && !plain(frame).includes(': handshakes'));
});
