// The interactive view as a user sees it: frames from ink-testing-library, keys on its stdin,
// connections from a fake source on a clock the test moves.
import './helpers/ui-env.js';
import test, {type ExecutionContext} from 'ava';
import {TcpState} from '../src/core/transition.js';
import {compileFilter} from '../src/model/filter.js';
import {established, keys, plain, renderView, rowLines, transition, type HarnessOptions, type ViewHarness} from './helpers/ui.js';

const {ESTABLISHED, CLOSE_WAIT, SYN_SENT, CLOSE, LISTEN} = TcpState;

/** Three connections of three programs, distinct in PID, age and state. */
function populate(view: ViewHarness): void {
	const start = view.clock.now;
	view.source.push([
		...established({monoMs: start - 50_000, pid: 300, comm: 'postgres', lport: 40_001, rport: 5432}),
		...established({monoMs: start - 20_000, pid: 100, comm: 'redis-cli', lport: 40_002, rport: 6379}),
		...established({monoMs: start - 9000, pid: 200, comm: 'curl', lport: 40_003, rport: 443}),
		transition({monoMs: start - 5000, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, pid: 0, comm: 'swapper/1', lport: 40_003, rport: 443}),
	]);
}

/** The COMMAND of each row, top to bottom. */
function commands(frame: string): string[] {
	return rowLines(frame).map(line => line.trim().split(/\s+/)[1]!);
}

/**
 * Resolves once a view of its own, still running, has drawn a change and then a later one,
 * both pushed after this is called: a view refreshing on the same tick would have drawn what
 * was pushed to it before the call by then.
 */
async function liveViewDrawnTwice(t: ExecutionContext): Promise<void> {
	const live = renderView(t);
	for (const [comm, lport] of [['marker1', 40_091], ['marker2', 40_092]] as const) {
		live.source.push(established({monoMs: live.clock.now, comm, lport}));
		await live.until(frame => frame.includes(comm));
	}
}

async function ready(t: ExecutionContext, options?: HarnessOptions): Promise<ViewHarness> {
	const view = renderView(t, options);
	populate(view);
	await view.until(frame => rowLines(frame).length === 3);
	return view;
}

test('the header shows host, kernel, uptime, refresh, per-state counts and totals', async t => {
	const view = await ready(t);
	view.clock.now += 65_000;
	const frame = plain(await view.until(frame => frame.includes('up 1m05s')));
	t.regex(frame, /tcptop - testhost - Linux 6\.18\.0-test - up 1m05s - refresh 0\.02s/);
	t.regex(frame, /ESTAB 2 · CLOSE-WAIT 1/);
	t.regex(frame, /tracked 3 · new [\d.]+\/s · closes [\d.]+\/s · failed [\d.]+\/s · resets [\d.]+\/s · transitions [\d.]+\/s · lost 0 · evicted 0/);
	t.regex(frame, /Sort: IN STATE ▼ {2}3 of 3 shown/);
});

test('trouble states and lost events are coloured; closed rows dimmed; stuck rows highlighted', async t => {
	const view = await ready(t);
	// CLOSE_WAIT has lasted 35 s (stuck after 30 s).
	view.clock.now += 30_000;
	view.source.push([
		transition({monoMs: view.clock.now, oldstate: CLOSE, newstate: SYN_SENT, lport: 40_010, rport: 81, comm: 'refused'}),
		transition({monoMs: view.clock.now, oldstate: SYN_SENT, newstate: CLOSE, lport: 40_010, rport: 81, comm: 'refused'}),
	], 7);
	const frame = await view.until(frame => frame.includes('lost 7'));
	t.regex(frame, /\u001B\[1m\u001B\[33mCLOSE-WAIT 1/, 'CLOSE-WAIT count in the trouble colour');
	t.regex(frame, /\u001B\[1m\u001B\[31mlost 7/, 'lost events in the alarm colour');
	t.regex(frame, /\u001B\[2m[^\n]*refused/, 'the closed connection is dimmed');
	t.regex(frame, /\u001B\[33m[^\n]*curl/, 'the stuck CLOSE_WAIT stands out');
});

test('trouble first (the command line\'s default): a stuck CLOSE_WAIT rises to the top as it becomes stuck; no column is marked', async t => {
	const view = await ready(t, {sortKey: 'trouble'});
	t.regex(plain(view.frame()), /Sort: TROUBLE ▼ {2}3 of 3 shown/);
	const titles = plain(view.frame()).split('\n').find(line => /PID\s+COMMAND/.test(line)) ?? '';
	t.notRegex(titles, /[▼▲]/, 'no column title marked');
	// Open and idle: longest in their state first (the CLOSE_WAIT, 5 s, last).
	t.deepEqual(commands(view.frame()), ['postgres', 'redis-cli', 'curl']);
	// 30 s later the CLOSE_WAIT has lasted 35 s: stuck, first.
	view.clock.now += 30_000;
	view.source.push([]);
	t.deepEqual(commands(await view.until(frame => commands(frame)[0] === 'curl')), ['curl', 'postgres', 'redis-cli']);
});

test('quick sorts P S A and invert, with the sorted column marked in the title bar', async t => {
	const view = await ready(t);
	t.deepEqual(commands(view.frame()), ['postgres', 'redis-cli', 'curl'], 'longest in state first');
	t.regex(plain(view.frame()), /IN STAT▼/);

	await view.press('P');
	t.deepEqual(commands(await view.until(frame => plain(frame).includes('PID▲'))), ['redis-cli', 'curl', 'postgres']);
	t.regex(plain(view.frame()), /Sort: PID ▲/);

	await view.press('I');
	t.deepEqual(commands(await view.until(frame => plain(frame).includes('PID▼'))), ['postgres', 'curl', 'redis-cli']);
	await view.press('r');
	t.deepEqual(commands(await view.until(frame => plain(frame).includes('PID▲'))), ['redis-cli', 'curl', 'postgres']);

	await view.press('A');
	t.deepEqual(commands(await view.until(frame => plain(frame).includes('Sort: AGE ▼'))), ['postgres', 'redis-cli', 'curl'], 'oldest first');

	await view.press('S');
	t.deepEqual(commands(await view.until(frame => plain(frame).includes('Sort: STATE ▲'))), ['postgres', 'redis-cli', 'curl'], 'ESTAB before CLOSE-WAIT');

	await view.press('T');
	t.regex(plain(await view.until(frame => plain(frame).includes('Sort: TX/s'))), /Sort: TX\/s ▼/, 'by throughput, largest first');
});

test('< and > move the sort to the previous and next column on screen', async t => {
	const view = await ready(t, {sortKey: 'pid'});
	await view.press('>');
	const byCommand = await view.until(frame => plain(frame).includes('Sort: COMMAND ▲'));
	t.deepEqual(commands(byCommand), ['curl', 'postgres', 'redis-cli']);
	// 100 columns wide: CONTAINER (and the columns after TX/s) are left out, and passed over.
	const titles = plain(byCommand).split('\n').find(line => line.includes('COMMAND') && line.includes('LOCAL'))!;
	t.false(titles.includes('CONTAINER'));
	await view.press('>');
	await view.until(frame => plain(frame).includes('Sort: LOCAL ▲'));
	await view.press('<', '<', '<');
	t.regex(titles, /TX\/s\s*$/, 'TX/s is the last column on screen');
	await view.until(frame => plain(frame).includes('Sort: TX/s ▼'));
	t.pass('wraps around from the first column to the last on screen');
});

test('the selection follows its connection when the order changes, and moves with the keys', async t => {
	const view = await ready(t, {sortKey: 'pid'});
	const selected = (frame: string) => frame.split('\n').find(line => line.includes('\u001B[7m') && !line.includes('COMMAND'));
	t.regex(selected(view.frame()) ?? '', /redis-cli/, 'the first row starts selected');
	await view.press(keys.down);
	t.regex(selected(await view.until(frame => /curl/.test(selected(frame) ?? ''))) ?? '', /curl/);
	await view.press('j', 'k', keys.end);
	t.regex(selected(await view.until(frame => /postgres/.test(selected(frame) ?? ''))) ?? '', /postgres/);
	await view.press(keys.home);
	await view.until(frame => /redis-cli/.test(selected(frame) ?? ''));

	// Sorting the other way puts redis-cli last: the selection goes with it.
	await view.press('I');
	const frame = await view.until(frame => plain(frame).includes('Sort: PID ▼'));
	t.regex(selected(frame) ?? '', /redis-cli/);
	t.is(commands(frame).at(-1), 'redis-cli');
});

test('/ searches: the selection jumps to the next row showing the text, past the screen; n, N and F3 go on; Esc keeps the last search', async t => {
	// 30 connections, each in its own port; the list is longer than the screen.
	const view = renderView(t, {sortKey: 'local', rows: 16});
	view.source.push(Array.from({length: 30}, (_, index) => established({monoMs: view.clock.now - 1000, pid: 500 + index, comm: index % 10 === 7 ? 'needle' : 'hay', lport: 41_000 + index, rport: 443})).flat());
	await view.until(frame => frame.includes(':41000'));
	const selected = (frame: string) => /\u001B\[7m[^\n]*?:(4\d{4})/.exec(frame)?.[1];
	await view.press('/', ...'needle', keys.enter);
	let frame = await view.until(frame => selected(frame) === '41007');
	t.regex(plain(frame), /Search: needle \(n N\)/);
	await view.press('n');
	frame = await view.until(frame => selected(frame) === '41017');
	t.true(plain(frame).includes(':41017'), 'scrolled to it');
	await view.press('\u001BOR');
	await view.until(frame => selected(frame) === '41027');
	await view.press('n');
	await view.until(frame => selected(frame) === '41007'); // wrapped to the first
	await view.press('N');
	await view.until(frame => selected(frame) === '41027'); // N goes back, wrapping
	// A search for what no row shows: the selection stays, the status says so.
	await view.press('/', ...Array.from({length: 10}, () => keys.backspace), ...'absent', keys.enter);
	frame = await view.until(frame => plain(frame).includes('Search: absent (not found)'));
	t.is(selected(frame), '41027');
	// Esc leaves the prompt; the last search stays.
	await view.press('/', 'x', keys.escape);
	await view.until(frame => plain(frame).includes('Search: absent (not found)'));
});

test('htop\'s keys: F1 opens help (any key returns), F4 and \\ open the filter', async t => {
	const view = await ready(t);
	for (const f1 of ['\u001BOP', '\u001B[11~', '\u001B[[A']) {
		await view.press(f1);
		await view.until(frame => frame.includes('Keys (any key returns)'));
		await view.press('x');
		await view.until(frame => !frame.includes('Keys (any key returns)'));
	}

	for (const [opener, port] of [['\u001BOS', 6379], ['\u001B[14~', 5432], ['\\', 443]] as const) {
		await view.press(opener, ...Array.from({length: 20}, () => keys.backspace), ...`dport = :${port}`, keys.enter);
		const frame = await view.until(frame => plain(frame).includes(`Filter: dport = :${port} `));
		t.is(rowLines(frame).length, 1, `filter opened by ${JSON.stringify(opener)}`);
	}
});

test('a filter typed after \\ applies on Enter; a bad one shows its error in place; an empty one clears', async t => {
	const view = await ready(t);
	await view.press('\\', ...'dport = :6379', keys.enter);
	let frame = await view.until(frame => rowLines(frame).length === 1);
	t.deepEqual(commands(frame), ['redis-cli']);
	t.regex(plain(frame), /Filter: dport = :6379 {2}1 of 3 shown/);

	await view.press('\\', keys.backspace, keys.backspace, keys.backspace, keys.backspace, keys.backspace, ...'bogus', keys.enter);
	frame = plain(await view.until(frame => frame.includes('at character')));
	t.regex(frame, /Filter: dport = bogus .*found 'bogus' \(at character 9\); Esc cance/);
	t.deepEqual(commands(frame), ['redis-cli'], 'the view goes on with the filter in force');

	await view.press(keys.escape);
	frame = plain(await view.until(frame => plain(frame).includes('Sort:')));
	t.regex(frame, /Filter: dport = :6379/, 'Esc keeps the filter that was applied');

	await view.press('\\', ...Array.from({length: 20}, () => keys.backspace), keys.enter);
	frame = plain(await view.until(frame => rowLines(frame).length === 3));
	t.notRegex(frame, /Filter:/);
});

test('keys that arrive together, as a paste or over a slow link, each count', async t => {
	const view = await ready(t);
	await view.press('\\dport = :6379\r');
	t.deepEqual(commands(await view.until(frame => rowLines(frame).length === 1)), ['redis-cli']);
	t.regex(plain(view.frame()), /Sort: IN STATE ▼ {2}Filter: dport = :6379/);
	await view.press('Pq');
	// Both keys are read: the view closes, its last frame sorted by PID.
	await view.until(() => view.closed());
	t.regex(plain(view.frame()), /Sort: PID ▲/);
	view.source.push(established({monoMs: view.clock.now, comm: 'late', lport: 40_050, rport: 6379}));
	await liveViewDrawnTwice(t);
	t.false(view.frame().includes('late'), 'q after P quit');
});

test('--filter gives the initial filter', async t => {
	const result = compileFilter('comm ~ ^post');
	if (!result.ok) {
		throw new Error(result.error.message);
	}

	const view = renderView(t, {filter: result.filter});
	populate(view);
	t.deepEqual(commands(await view.until(frame => rowLines(frame).length === 1)), ['postgres']);
});

test('s cycles the quick state filter', async t => {
	const view = await ready(t, {sortKey: 'pid'});
	await view.press('s');
	t.deepEqual(commands(await view.until(frame => plain(frame).includes('State: established'))), ['redis-cli', 'postgres']);
	await view.press('s');
	t.deepEqual(commands(await view.until(frame => plain(frame).includes('State: close-wait'))), ['curl']);
	await view.press(...Array.from({length: 10}, () => 's'));
	await view.until(frame => rowLines(frame).length === 3 && !plain(frame).includes('State:'));
	t.pass('back to all states after the last one');
});

test('pause freezes the frame while the table keeps counting; unpausing shows what came', async t => {
	const view = await ready(t);
	await view.press(' ');
	const paused = await view.until(frame => frame.includes('PAUSED'));
	view.source.push(established({monoMs: view.clock.now, comm: 'newcomer', lport: 40_020}));
	view.clock.now += 5000;
	await liveViewDrawnTwice(t);
	t.is(view.frame(), paused, 'nothing on screen moved');
	t.is(view.table.size, 4, 'the table went on');

	await view.press('p');
	const frame = plain(await view.until(frame => frame.includes('newcomer')));
	t.notRegex(frame, /PAUSED/);
	t.regex(frame, /tracked 4/);
});

test('c clears closed connections that linger', async t => {
	const view = await ready(t);
	view.source.push([transition({monoMs: view.clock.now, oldstate: CLOSE_WAIT, newstate: CLOSE, lport: 40_003, rport: 443})]);
	await view.until(frame => plain(frame).includes('CLOSED'));
	await view.press('c');
	const frame = await view.until(frame => rowLines(frame).length === 2);
	t.notRegex(plain(frame), /curl/);
});

test('? shows every key on one screen; any key returns', async t => {
	const view = await ready(t);
	await view.press('?');
	const help = plain(await view.until(frame => frame.includes('Keys')));
	for (const key of ['PgUp', '< >', 'I r', 'P S A T', 'space p', 'q F10 Ctrl-C']) {
		t.true(help.includes(key), key);
	}

	t.is(rowLines(help).length, 0);
	await view.press('x');
	await view.until(frame => rowLines(frame).length === 3);
	await view.press('h');
	await view.until(frame => frame.includes('Keys'));
});

for (const [key, name] of [['q', 'q'], [keys.f10, 'F10'], [keys.ctrlC, 'Ctrl-C']] as const) {
	test(`${name} quits`, async t => {
		const view = await ready(t);
		await view.press(key);
		await view.until(() => view.closed());
		// After exit the view no longer redraws: the table changes, the frame does not.
		view.source.push(established({monoMs: view.clock.now, comm: 'late', lport: 40_030}));
		await liveViewDrawnTwice(t);
		t.false(view.frame().includes('late'));
	});
}

test('80x24 keeps PID, COMMAND, LOCAL, REMOTE, STATE and IN STATE; 40x10 still draws', async t => {
	const view = await ready(t, {columns: 120, rows: 40});
	t.regex(plain(view.frame()), /AGE/);
	view.resize(80, 24);
	let frame = plain(await view.until(frame => !plain(frame).includes('AGE')));
	const title = frame.split('\n').find(line => line.includes('COMMAND'))!;
	t.regex(title, /PID COMMAND +LOCAL +REMOTE +STATE +IN STAT▼/);
	t.true(frame.split('\n').every(line => line.length <= 80), 'no line wider than the terminal');

	view.resize(40, 10);
	frame = plain(await view.until(frame => plain(frame).split('\n').every(line => line.length <= 40)));
	t.true(frame.split('\n').length <= 10, 'no taller than the terminal');
	await view.press(keys.down, 'P', '?', 'x');
	t.regex(plain(await view.until(frame => plain(frame).includes('LOCAL'))), /LOCAL/);
});

test('a small terminal scrolls the list to keep the selection in view', async t => {
	const view = renderView(t, {sortKey: 'pid', rows: 10});
	view.source.push(Array.from({length: 20}, (_, index) => established({monoMs: view.clock.now, pid: 1000 + index, comm: `app${index}`, lport: 41_000 + index})).flat());
	await view.until(frame => rowLines(frame).length === 4);
	await view.press(keys.pageDown, keys.pageDown);
	let frame = await view.until(frame => commands(frame).includes('app6'));
	t.regex(frame.split('\n').find(line => line.includes('\u001B[7m') && line.includes('app')) ?? '', /app6/);
	await view.press(keys.end);
	frame = await view.until(frame => commands(frame).includes('app19'));
	t.is(commands(frame).at(-1), 'app19');
});

test('without colour the frame has no colour codes, and still marks trouble', async t => {
	const view = await ready(t, {color: false});
	view.clock.now += 30_000;
	const frame = await view.until(frame => /\u001B\[1m[^\n]*curl/.test(frame));
	t.notRegex(frame, /\u001B\[(3\d|4\d|9\d|10\d)(;\d+)*m/, 'no foreground or background colour');
	t.regex(frame, /\u001B\[7m/, 'the selection and title bar are still inverse');
});

test('a process name with escape sequences is shown escaped', async t => {
	const view = renderView(t);
	view.source.push(established({monoMs: view.clock.now, comm: '\u001B]0;owned\u0007x', lport: 40_040}));
	const frame = await view.until(frame => frame.includes('\\x1b'));
	t.regex(plain(frame), /\\x1b]0;o/);
	t.false(frame.includes('\u001B]0;'), 'no OSC sequence reaches the terminal');
	t.false(frame.includes('\u0007'));
});

test('a host name from a recording with escape sequences is shown escaped in the header', async t => {
	const view = renderView(t, {host: 'db\u001B]0;owned\u0007-7'});
	const frame = await view.until(frame => plain(frame).includes('tcptop - '));
	t.regex(plain(frame), /tcptop - db\\x1b]0;owned\\x07-7 - Linux/);
	t.false(frame.includes('\u0007'));
});

test('listeners show with a * peer port', async t => {
	const view = renderView(t);
	view.source.push([transition({monoMs: view.clock.now, oldstate: CLOSE, newstate: LISTEN, lport: 8080, rport: 0, raddr: '0.0.0.0', comm: 'nginx'})]);
	const frame = plain(await view.until(frame => frame.includes('nginx')));
	t.regex(frame, /nginx +127\.0\.0\.1:8080 +0\.0\.0\.0:\* +LISTEN/);
});

test('sockets that existed before the start are on the first frame, with the owner the snapshot found', async t => {
	const existing = {monoMs: 100_000, wallMs: 0, netns: 1, family: 4 as const, laddr: '127.0.0.1', raddr: '127.0.0.1', figures: undefined};
	const view = renderView(t, {existing: [
		{...existing, sock: 9001, lport: 5432, raddr: '0.0.0.0', rport: 0, state: LISTEN, pid: 777, comm: 'postgres'},
		{...existing, sock: 9002, lport: 5432, rport: 41_000, state: CLOSE_WAIT, pid: 0, comm: ''},
	]});
	const frame = await view.until(frame => rowLines(frame).length === 2);
	t.regex(frame, /LISTEN 1/);
	t.notRegex(frame, /NEW-SYN-RECV/, 'a state with no sockets is not counted');
	t.regex(frame, /CLOSE-WAIT 1/);
	const rows = rowLines(frame);
	t.true(rows.some(line => /^\s*777 postgres\s+127\.0\.0\.1:5432\s+0\.0\.0\.0:\*\s+LISTEN/.test(line)), frame);
	t.true(rows.some(line => /^\s*-\s+-?\s*127\.0\.0\.1:5432\s+127\.0\.0\.1:41000\s+CLOSE-WAIT/.test(line)), 'no owner is made up');
});

test('request sockets the snapshot found are counted in the header as well as listed', async t => {
	const view = renderView(t, {existing: [{
		monoMs: 100_000, wallMs: 0, netns: 1, family: 4, sock: 9101, laddr: '127.0.0.1', lport: 5432,
		raddr: '127.0.0.1', rport: 41_001, state: TcpState.NEW_SYN_RECV, pid: 0, comm: '', figures: undefined,
	}]});
	const frame = await view.until(frame => rowLines(frame).length === 1);
	t.regex(frame, /NEW-SYN-RECV 1/);
});
