// The Transitions pane, the event log, the detail view and the sort picker, as a user sees
// them: frames from ink-testing-library, keys on its stdin, a fake source on a test clock.
import './helpers/ui-env.js';
import test from 'ava';
import {TcpState} from '../src/core/transition.js';
import {established, keys, logLines, plain, renderView, rowLines, transition, transitionLines, type ViewHarness} from './helpers/ui.js';

const {ESTABLISHED, CLOSE_WAIT, SYN_SENT, CLOSE, LAST_ACK} = TcpState;
const f6 = '\u001B[17~';

/**
 * Over the ten seconds before the clock: three connects a second that succeed (the last 5 s
 * from postgres, to 5432; the first 5 s from redis-cli, to 6379), and one refused connect in
 * the last second.
 */
function traffic(view: ViewHarness): void {
	const start = view.clock.now - 10_000;
	for (let second = 0; second < 10; second++) {
		for (let index = 0; index < 3; index++) {
			const late = second >= 5;
			view.source.push(established({
				monoMs: start + (second * 1000) + (index * 10), pid: late ? 300 : 100, comm: late ? 'postgres' : 'redis-cli',
				lport: 41_000 + (second * 3) + index, rport: late ? 5432 : 6379,
			}));
		}
	}

	view.source.push([
		transition({monoMs: view.clock.now - 500, sock: 7, oldstate: CLOSE, newstate: SYN_SENT, lport: 42_000, rport: 81, comm: 'refused'}),
		transition({monoMs: view.clock.now - 400, sock: 7, oldstate: SYN_SENT, newstate: CLOSE, lport: 42_000, rport: 81, comm: 'refused', ms: 100}),
	]);
}

function lineOf(lines: readonly string[], label: string): string {
	const line = lines.find(line => line.trimStart().startsWith(label));
	if (line === undefined) {
		throw new Error(`no line for ${label} in:\n${lines.join('\n')}`);
	}

	return line;
}

/** The cells of a Transitions row: label, total, 1 s, 10 s, 60 s rates. */
function cells(line: string): string[] {
	const text = line.replaceAll('│', ' ').trim();
	const end = text.search(/ {2}/);
	return [text.slice(0, end), ...text.slice(end).trim().split(/\s+/).slice(0, 4)];
}

test('the Transitions pane: each edge and named series with its total and its rates over 1, 10 and 60 s', async t => {
	// Wide enough for the times and a full minute of sparkline.
	const view = renderView(t, {columns: 140, rows: 40});
	traffic(view);
	const frame = await view.until(frame => transitionLines(frame).some(line => line.includes('SYN-SENT → CLOSED')));
	const lines = transitionLines(frame);
	t.regex(lines[0]!, /^TRANSITION▲ +TOTAL +1s +10s +60s +p50 +p99 LAST 60s/);
	t.deepEqual(cells(lineOf(lines, 'CLOSED → SYN-SENT')), ['CLOSED → SYN-SENT', '31', '4.0', '3.1', '0.52']);
	t.deepEqual(cells(lineOf(lines, 'SYN-SENT → ESTAB')), ['SYN-SENT → ESTAB', '30', '3.0', '3.0', '0.50']);
	t.deepEqual(cells(lineOf(lines, 'SYN-SENT → CLOSED')), ['SYN-SENT → CLOSED', '1', '1.0', '0.10', '0.02']);
	t.deepEqual(cells(lineOf(lines, 'new connections')), ['new connections', '31', '4.0', '3.1', '0.52']);
	t.deepEqual(cells(lineOf(lines, 'failed connects')), ['failed connects', '1', '1.0', '0.10', '0.02']);
	t.deepEqual(cells(lineOf(lines, 'resets')), ['resets', '0', '0', '0', '0']);
	t.deepEqual(cells(lineOf(lines, 'lost events')), ['lost events', '0', '0', '0', '0']);
	t.deepEqual(lines.slice(1, 5).map(line => cells(line)[0]), ['new connections', 'failed connects', 'resets', 'lost events'], 'named series first');

	// The sparkline: 60 one-second columns, nothing before the traffic, even blocks during it.
	const spark = lineOf(lines, 'SYN-SENT → ESTAB').slice(-60);
	t.is(spark, `${' '.repeat(50)}${'█'.repeat(10)}`);
	t.is(lineOf(lines, 'SYN-SENT → CLOSED').slice(-60), `${' '.repeat(59)}█`);

	const colours = frame.split('\n');
	t.regex(colours.find(line => line.includes('SYN-SENT → CLOSED'))!, /\u001B\[33m/, 'a failure edge in the trouble colour');
	t.regex(colours.find(line => line.includes('failed connects'))!, /\u001B\[33m/);
	t.notRegex(colours.find(line => line.includes('SYN-SENT → ESTAB'))!, /\u001B\[33m/);
});

test('rates move on with the clock and the sparkline squeezes a minute into a narrow terminal', async t => {
	const view = renderView(t, {columns: 80, rows: 30});
	traffic(view);
	await view.until(frame => transitionLines(frame).some(line => line.includes('SYN-SENT → CLOSED')));
	view.clock.now += 20_000;
	const frame = await view.until(frame => cells(lineOf(transitionLines(frame), 'SYN-SENT → ESTAB'))[2] === '0');
	const line = lineOf(transitionLines(frame), 'SYN-SENT → ESTAB');
	t.deepEqual(cells(line), ['SYN-SENT → ESTAB', '30', '0', '0', '0.50']);
	t.true(line.length <= 80);
	// 20 columns of 3 s each from the 60th character: the 10 s of traffic, 30 to 20 s ago, are
	// columns 10 to 13, the last holding one second of it.
	t.is(line.slice(60), `${' '.repeat(10)}███▃`);
});

test('Tab moves the focus, shown on the pane titles; movement and sort keys act on the focused pane', async t => {
	const view = renderView(t, {columns: 120, rows: 30});
	traffic(view);
	await view.until(frame => transitionLines(frame).some(line => line.includes('SYN-SENT → CLOSED')));
	const titleOf = (frame: string, pattern: RegExp) => frame.split('\n').find(line => pattern.test(plain(line)))!;
	const highlighted = /\u001B\[42m/;
	t.regex(titleOf(view.frame(), /^ +PID/), highlighted, 'the connections start with the focus');
	t.notRegex(titleOf(view.frame(), /^TRANSITION/), highlighted);

	await view.press('\t');
	let frame = await view.until(frame => highlighted.test(titleOf(frame, /^TRANSITION/)));
	t.notRegex(titleOf(frame, /^ +PID/), highlighted);
	const selected = (frame: string) => frame.split('\n').filter(line => line.includes('\u001B[7m')).map(line => plain(line).trim().split(/ {2,}/)[0]);
	t.deepEqual(selected(frame), ['100 redis-cli', 'new connections'], 'the transitions selection shows; the connections one stays');

	await view.press(keys.down, 'j');
	frame = await view.until(frame => selected(frame).includes('resets'));
	t.deepEqual(selected(frame), ['100 redis-cli', 'resets'], 'the connections selection did not move');
	await view.press('>');
	frame = await view.until(frame => plain(frame).includes('TOTAL▼'));
	t.regex(plain(frame), /Sort: IN STATE ▼/, 'the connections keep their sort');
	const edges = transitionLines(frame).slice(5).map(line => cells(line));
	t.deepEqual(edges.map(cell => cell[1]), ['31', '30', '1'], 'edges by total, largest first');
	await view.press('I');
	frame = await view.until(frame => plain(frame).includes('TOTAL▲'));
	t.deepEqual(transitionLines(frame).slice(5).map(line => cells(line)[1]), ['1', '30', '31']);

	await view.press('\t', 'P');
	frame = await view.until(frame => plain(frame).includes('Sort: PID ▲'));
	t.regex(titleOf(frame, /^ +PID/), highlighted);
});

test('with the focus and room enough, the Transitions pane is a bordered table', async t => {
	const view = renderView(t, {columns: 120, rows: 40});
	traffic(view);
	await view.until(frame => transitionLines(frame).some(line => line.includes('SYN-SENT → CLOSED')));
	t.false(view.frame().includes('┌'), 'dense while the connections have the focus');
	await view.press('\t');
	const frame = plain(await view.until(frame => frame.includes('┌')));
	const lines = transitionLines(frame);
	t.regex(lines[0]!, /^Transitions/);
	t.regex(lines[2]!, /│ TRANSITION▲ +│ TOTAL │ +1s │ +10s │ +60s │ +p50 │ +p99 │ LAST 60s +│/);
	t.deepEqual(cells(lineOf(lines.map(line => line.replace(/^│/, '')), 'SYN-SENT → ESTAB')), ['SYN-SENT → ESTAB', '30', '3.0', '3.0', '0.50']);
	t.true(frame.split('\n').every(line => line.length <= 120));
	t.true(rowLines(frame).length > 0, 'the connections still show');
});

test('l shows the event log: newest first, filtered like the list, process names escaped', async t => {
	const view = renderView(t, {columns: 120, rows: 40});
	traffic(view);
	view.source.push([transition({monoMs: view.clock.now - 100, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, lport: 42_001, rport: 6379, comm: '\u001B[31mevil'})]);
	await view.until(frame => rowLines(frame).length > 0);
	t.deepEqual(logLines(view.frame()), [], 'hidden until asked for');
	await view.press('l');
	let frame = await view.until(frame => logLines(frame).length > 0);
	let lines = logLines(frame);
	t.regex(lines[0]!, /ESTAB → CLOSE-WAIT +100 \\x1b\[31mevil +127\.0\.0\.1:42001 +127\.0\.0\.1:6379/);
	t.regex(lines[1]!, /SYN-SENT → CLOSED +100 refused +127\.0\.0\.1:42000 +127\.0\.0\.1:81 +100ms/);
	t.regex(lines[2]!, /CLOSED → SYN-SENT +100 refused/);
	t.false(frame.includes('\u001B[31mevil'));

	await view.press('\\', ...'dport = :5432', keys.enter);
	frame = await view.until(frame => logLines(frame).every(line => line.includes(':5432')));
	lines = logLines(frame);
	t.true(lines.length > 2);
	t.regex(lines[0]!, /SYN-SENT → ESTAB +- swapper\/0 +127\.0\.0\.1:41029/, 'the newest of the matching ones first');

	await view.press('s');
	frame = await view.until(frame => plain(frame).includes('State: established'));
	t.true(logLines(frame).every(line => line.includes('→ ESTAB ')), 'a state filter keeps the transitions into that state');

	await view.press('l');
	await view.until(frame => logLines(frame).length === 0);
});

test('Enter opens the selected connection in detail; Esc and q return to the list', async t => {
	const view = renderView(t, {sortKey: 'pid'});
	view.source.push([
		...established({monoMs: view.clock.now - 60_000, pid: 300, comm: 'postgres', lport: 40_001, rport: 5432, ms: null}),
		transition({monoMs: view.clock.now - 30_000, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, pid: 0, comm: 'swapper/1', lport: 40_001, rport: 5432}),
	]);
	await view.until(frame => rowLines(frame).length === 1);
	await view.press(keys.enter);
	let frame = plain(await view.until(frame => frame.includes('Esc or q returns')));
	t.regex(frame, /127\.0\.0\.1:40001 → 127\.0\.0\.1:5432/);
	t.regex(frame, /state +CLOSE-WAIT for 30s/);
	t.regex(frame, /owner +300 postgres \(the process that called connect\(\)\)/);
	t.regex(frame, /ending +open/);
	t.regex(frame, /container +- \(no control group known for the owner\)/, 'the harness names no control groups');
	t.regex(frame, /opened +outgoing \(connect\), seen 1m00s ago/);
	t.regex(frame, /transitions 3 seen/);
	t.regex(frame, /1m00s ago +CLOSED → SYN-SENT\n/);
	t.regex(frame, /1m00s ago +SYN-SENT → ESTAB +after 0\.00ms in SYN-SENT/);
	t.regex(frame, /30s ago +ESTAB → CLOSE-WAIT +after 30s in ESTAB/);
	t.regex(frame, /now +CLOSE-WAIT +for 30s/);
	t.is(rowLines(frame).length, 0);

	await view.press(keys.escape);
	await view.until(frame => rowLines(frame).length === 1);

	// It ends while shown: the detail follows it, then keeps its last values once it has left.
	await view.press(keys.enter);
	view.source.push([transition({monoMs: view.clock.now, oldstate: CLOSE_WAIT, newstate: LAST_ACK, pid: 300, comm: 'postgres', lport: 40_001, rport: 5432})]);
	view.source.push([transition({monoMs: view.clock.now + 1, oldstate: LAST_ACK, newstate: CLOSE, pid: 0, comm: 'swapper/1', lport: 40_001, rport: 5432})]);
	frame = plain(await view.until(frame => plain(frame).includes('closed in order')));
	t.regex(frame, /state +CLOSED/);
	view.clock.now += 10_000;
	frame = plain(await view.until(frame => frame.includes('no longer tracked')));
	t.regex(frame, /ending +closed in order \(FIN\)/);
	await view.press('q');
	frame = await view.until(frame => !frame.includes('Esc or q returns'));
	t.regex(plain(frame), /Sort: PID/, 'q leaves the detail view, not tcptop');
});

test('the detail of a connection found already open gives its time in state as a lower bound, and its namespace by name', async t => {
	const view = renderView(t, {existing: [{
		monoMs: 100_000, wallMs: 0, netns: 4_026_532_400, family: 4, sock: 9201, laddr: '127.0.0.1', lport: 5432,
		raddr: '127.0.0.1', rport: 41_002, state: CLOSE_WAIT, pid: 300, comm: 'postgres', figures: undefined,
	}], namespaceName: inode => (inode === 4_026_532_400 ? 'db\u001B[2J' : undefined)});
	await view.until(frame => rowLines(frame).length === 1);
	view.clock.now += 12_000;
	await view.press(keys.enter);
	const frame = plain(await view.until(frame => frame.includes('Esc or q returns')));
	t.regex(frame, /state +CLOSE-WAIT for >12s/);
	t.regex(frame, /now +CLOSE-WAIT +for >12s/);
	t.regex(frame, /transitions 0 seen/);
	t.regex(frame, /network +IPv4, namespace 4026532400 \(db\\x1b\[2J\)/, 'named, with the name sanitised');
});

test('F6 picks the sort column from a list; Esc cancels', async t => {
	const view = renderView(t);
	traffic(view);
	await view.until(frame => rowLines(frame).length > 0);
	await view.press(f6);
	let frame = plain(await view.until(frame => frame.includes('Sort connections by')));
	t.regex(frame, /\* IN STATE/, 'the current column is marked');
	await view.press(keys.up, keys.up, keys.up, keys.up, keys.escape);
	frame = plain(await view.until(frame => !frame.includes('Sort connections by')));
	t.regex(frame, /Sort: IN STATE ▼/, 'Esc changed nothing');

	// TROUBLE first, then the columns in table order.
	await view.press(f6, keys.home, keys.down, keys.down, keys.enter);
	frame = plain(await view.until(frame => frame.includes('Sort: COMMAND ▲')));
	t.deepEqual(rowLines(frame).map(line => line.trim().split(/\s+/)[1]).slice(0, 2), ['postgres', 'postgres']);

	await view.press('\t', f6);
	frame = plain(await view.until(frame => frame.includes('Sort transitions by')));
	t.regex(frame, /\* TRANSITION/);
	await view.press(keys.end, keys.up, keys.up, keys.enter);
	await view.until(frame => plain(frame).includes('60s▼'));
});

test('an escape sequence pasted into the filter prompt is ignored, not typed, and the view goes on', async t => {
	const view = renderView(t);
	traffic(view);
	await view.until(frame => rowLines(frame).length > 0);
	// Ctrl-F1 (xterm) makes Ink 6.8's own key reader throw; a mouse report and an unknown CSI for good measure.
	await view.press('\\', 'd', '\u001B[1;5P', 'port', '\u001B[<0;1;1M', '\u001B[99;9z', ' = :6379');
	const frame = plain(await view.until(frame => plain(frame).includes('Filter: dport = :6379')));
	t.notRegex(frame, /\[1;5P|<0;1|99;9/);
	await view.press(keys.enter);
	await view.until(frame => rowLines(frame).length > 0 && rowLines(frame).every(line => line.includes(':6379')));
});
