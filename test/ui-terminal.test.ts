// The live view in a real terminal: tmux runs tcptop as a user would, keys go in through
// send-keys, the screen comes back through capture-pane.
import {spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {stripVTControlCharacters} from 'node:util';
import net from 'node:net';
import {once} from 'node:events';
import {setTimeout as delay} from 'node:timers/promises';
import type {ExecutionContext} from 'ava';
import {bpfLinksOf, bpfLinksOnHost, tcptop} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {closedPort, connectOpen, listen} from './helpers/net.js';
import {parseExposition} from './helpers/exposition.js';
import {terminal} from './helpers/tmux.js';

/**
 * A name a process gives itself (prctl PR_SET_NAME, through /proc/self/comm): an OSC that
 * would set the terminal's title, 12 bytes of the kernel's 15.
 */
const hostileName = '\u001B]2;pwned\u0007ab';
const escapedName = String.raw`\x1b]2;pwned\x07ab`;

/** A process that takes the hostile name, then holds `count` connections open to port. */
function renamedClient(port: number, count: number) {
	const script = `
		require('node:fs').writeFileSync('/proc/self/comm', process.env.NAME);
		let open = 0;
		for (let index = 0; index < ${count}; index++) {
			require('node:net').connect(${port}, '127.0.0.1', () => {
				if (++open === ${count}) console.log('connected');
			});
		}
		setInterval(() => {}, 60000);`;
	return spawn(process.execPath, ['-e', script], {env: {...process.env, NAME: hostileName}, stdio: ['ignore', 'pipe', 'inherit']});
}

/** A terminal, a loopback server and the clients a test connects to it, all gone when it ends. */
async function liveSetting(t: ExecutionContext, name: string) {
	const term = terminal(name);
	const server = await listen('127.0.0.1');
	const clients: net.Socket[] = [];
	t.teardown(async () => {
		for (const client of clients) {
			client.destroy();
		}

		await server.close();
		try {
			term.tmux('kill-server');
		} catch {
			// Already gone.
		}
	});
	return {...term, server, clients};
}

kernelTest('tcptop in tmux: draws despite CI=true, sorts and filters by key, escapes a hostile process name, quits with q and detaches', async t => {
	const {tmux, screen, until, session, server, clients} = await liveSetting(t, 'keys');
	let renamed: ReturnType<typeof renamedClient> | undefined;
	t.teardown(() => {
		renamed?.kill();
	});

	// An interactive shell runs tcptop, reports its exit status, and shows it is usable
	// afterwards. CI=true is set on purpose: on a terminal, tcptop must draw anyway.
	tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', 'sh');
	tmux('send-keys', '-t', session, '-l',
		`env CI=true CONTINUOUS_INTEGRATION=1 ${process.execPath} ${tcptop} --delay 0.2; echo "tcptop exited with $?"`);
	tmux('send-keys', '-t', session, 'Enter');
	const shell = tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim();
	await until('the first frame', () => (screen().includes('Sort: TROUBLE') ? true : undefined));
	const pid = Number(readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim());
	t.true(pid > 0, 'tcptop runs as the shell\'s child');
	const links = await until('the programs to attach', () => {
		const ids = bpfLinksOf(pid);
		return ids.length > 0 ? ids : undefined;
	});

	tmux('send-keys', '-t', session, 'P');
	await until('the PID sort', () => (screen().includes('Sort: PID ▲') ? true : undefined));

	// The view asks for mouse reports (SGR); a click on the PID title (row 5, below the header's
	// four lines), as the terminal reports it, sorts the other way, and a second back again.
	const flags = () => tmux('display-message', '-p', '-t', session, '#{mouse_standard_flag}#{mouse_sgr_flag}').trim();
	t.is(flags(), '11', 'mouse reports on');
	const click = (x: number, y: number) => {
		tmux('send-keys', '-t', session, '-l', `\u001B[<0;${x};${y}M\u001B[<0;${x};${y}m`);
	};

	click(3, 5);
	await until('the click on PID', () => (screen().includes('Sort: PID ▼') ? true : undefined));
	click(3, 5);
	await until('the second click', () => (screen().includes('Sort: PID ▲') ? true : undefined));

	tmux('send-keys', '-t', session, '-l', '\\');
	// Other tests may be making connections by the thousand, and the start-up snapshot shows
	// the TIME_WAITs they left, some on this port number: the filter keeps only ours.
	const filter = `state established and dst 127.0.0.1:${server.port}`;
	tmux('send-keys', '-t', session, '-l', filter);
	tmux('send-keys', '-t', session, 'Enter');
	await until('the filter', () => (screen().includes(`Sort: PID ▲  Filter: ${filter}`) ? true : undefined));

	for (let index = 0; index < 3; index++) {
		const client = net.connect(server.port, '127.0.0.1');
		await once(client, 'connect');
		clients.push(client);
	}

	const port = `127.0.0.1:${server.port}`;
	const rowsOf = (frame: string) => frame.split('\n').filter(line => line.includes(port) && !line.includes('Filter:'));
	const filtered = await until('the connections', () => (rowsOf(screen()).length >= 3 ? screen() : undefined));
	const rows = rowsOf(filtered);
	t.is(rows.length, 3, 'the three client ends, not the server ends');
	t.true(rows.every(line => /ESTAB/.test(line)));
	t.regex(filtered, /3 of [\d,]+ shown/);

	const titleBefore = tmux('display-message', '-p', '-t', session, '#{pane_title}');
	renamed = renamedClient(server.port, 2);
	await once(renamed.stdout, 'data');
	const withRenamed = await until('the renamed process\'s connections', () => (rowsOf(screen()).length >= 5 ? screen() : undefined));
	// COMMAND is cut to fit 120 columns: the escaped name's start is enough.
	const hostileRows = rowsOf(withRenamed).filter(line => line.includes(String.raw`\x1b]2;pw`));
	t.is(hostileRows.length, 2, withRenamed);
	t.true(hostileRows.every(line => line.includes(String(renamed.pid))));
	t.false(withRenamed.includes('\u001B'), 'no escape character reached the screen');

	// The detail view has room for the whole name. The renamed process started last: its
	// connections are last by PID.
	tmux('send-keys', '-t', session, 'End');
	tmux('send-keys', '-t', session, 'Enter');
	const detail = await until('the detail view', () => (screen().includes('Esc or q returns') ? screen() : undefined));
	t.true(detail.includes(`${renamed.pid} ${escapedName} (the process that called connect())`), detail);
	t.is(tmux('display-message', '-p', '-t', session, '#{pane_title}'), titleBefore, 'the terminal title did not change');
	tmux('send-keys', '-t', session, 'Escape');
	await until('the list again', () => (screen().includes('Sort: PID') && !screen().includes('Esc or q returns') ? true : undefined));

	tmux('send-keys', '-t', session, 'q');
	await until('tcptop to exit', () => (screen().includes('tcptop exited with 0') ? true : undefined));
	t.is(flags(), '00', 'mouse reports off again');
	const remaining = new Set(bpfLinksOnHost());
	t.deepEqual(links.filter(id => remaining.has(id)), [], 'no BPF link of tcptop remains');

	// The terminal works as before: the shell behind tcptop reads and echoes a command.
	tmux('send-keys', '-t', session, '-l', 'echo "six times seven is $((6*7))"');
	tmux('send-keys', '-t', session, 'Enter');
	await until('the shell to answer', () => (screen().includes('six times seven is 42') ? true : undefined));
	t.is(tmux('display-message', '-p', '-t', session, '#{pane_title}'), titleBefore);
});

kernelTest('tcptop in tmux with a trailing filter and --metrics --view: the view filters, metrics are served beside it', async t => {
	const {tmux, screen, until, session, server, clients} = await liveSetting(t, 'metrics');
	for (let index = 0; index < 2; index++) {
		const client = net.connect(server.port, '127.0.0.1');
		await once(client, 'connect');
		clients.push(client);
	}

	const metricsPort = await closedPort('127.0.0.1');
	const filter = `state established and dst 127.0.0.1:${server.port}`;
	tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30',
		`${process.execPath} ${tcptop} --delay 0.2 --max-conns 1000000 --metrics ${metricsPort} --view ${filter}; echo "tcptop exited with $?"`);
	tmux('set-option', '-t', session, 'remain-on-exit', 'on');
	const port = `127.0.0.1:${server.port}`;
	const rowsOf = (frame: string) => frame.split('\n').filter(line => line.includes(port) && !line.includes('Filter:'));
	const frame = await until('the filtered connections', () => (rowsOf(screen()).length >= 2 ? screen() : undefined));
	t.true(frame.includes(`Filter: ${filter}`));
	t.is(rowsOf(frame).length, 2, 'the two client ends');

	const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
	t.is(response.status, 200);
	const families = parseExposition(await response.text());
	t.true(families.get('tcptop_sockets')!.samples.some(sample => sample.labels.state === 'ESTABLISHED' && sample.value >= 4));

	tmux('send-keys', '-t', session, 'q');
	await until('tcptop to exit', () => (screen().includes('tcptop exited with 0') ? true : undefined));
});

/**
 * What a frame drawn over the last must never show, whatever redraws it: a second header, a
 * second status or title line, a connection listed twice or out of place, rows left over
 * from a screen that has closed, fewer rows than the list has room for.
 */
function checkFrame(t: ExecutionContext, frame: string, step: string, port: number, screen: 'list' | 'help' | 'detail') {
	const lines = frame.split('\n');
	const count = (test: (line: string) => boolean) => lines.filter(line => test(line)).length;
	const message = `${step}:\n${frame}`;
	t.true(lines[0]!.startsWith('tcptop - '), message);
	t.is(count(line => line.startsWith('tcptop - ')), 1, message);
	t.is(count(line => /^ESTAB [\d,]+( · |$)/.test(line)), 1, message);
	t.is(count(line => line.startsWith('tracked ')), 1, message);
	t.true(lines[3]!.startsWith('Sort: '), message);
	t.is(count(line => line.startsWith('Sort: ')), 1, message);
	t.is(count(line => line.includes('Keys (any key returns)')), screen === 'help' ? 1 : 0, message);
	t.is(count(line => line.includes('· Esc or q returns')), screen === 'detail' ? 1 : 0, message);
	const rows = lines.flatMap((line, index) => (line.includes(`127.0.0.1:${port} `) && index > 3 ? [index] : []));
	const titles = count(line => /^\s+PID\S* COMMAND/.test(line));
	if (screen !== 'list') {
		t.is(titles, 0, message);
		t.true(rows.length <= (screen === 'detail' ? 1 : 0), message);
		return;
	}

	t.is(titles, 1, message);
	t.regex(lines[4]!, /^\s+PID\S* COMMAND/, message);
	const matched = Number(/ (\d+) of [\d,]+ shown/.exec(lines[3]!)?.[1]);
	// The rows follow the titles without a gap, each connection once, up to the next pane.
	t.deepEqual(rows, rows.map((_, index) => 5 + index), message);
	const locals = rows.map(index => lines[index]!.split(/\s+/).find(word => word.startsWith('127.0.0.1:') && !word.endsWith(`:${port}`)));
	t.is(new Set(locals).size, rows.length, message);
	const next = lines[5 + rows.length] ?? '';
	t.true(rows.length === matched || (rows.length < matched && (next.startsWith('Transitions') || next.startsWith('TRANSITION'))), message);
}

/** Whether an SGR sequence on the line turns inverse video on (7; 38 and 48 take colour arguments). */
function inverse(line: string): boolean {
	for (const [, parameters] of line.matchAll(/\u001B\[([\d;]*)m/g)) {
		const codes = parameters!.split(';').map(Number);
		for (let index = 0; index < codes.length; index++) {
			if (codes[index] === 38 || codes[index] === 48) {
				index += codes[index + 1] === 5 ? 2 : 4;
			} else if (codes[index] === 7) {
				return true;
			}
		}
	}

	return false;
}

/**
 * The local ports of the connection rows on the list, top to bottom, and which row is
 * selected (drawn in inverse video), from the screen with its attributes.
 */
function shownRows(styled: string, port: number): {ports: number[]; selected: number | undefined} {
	const rows = styled.split('\n').filter(line => line.includes(`127.0.0.1:${port} `) && !line.includes('Filter:'));
	const ports = rows.map(line => Number(/127\.0\.0\.1:(\d+)/.exec(stripVTControlCharacters(line))?.[1]));
	const selected = rows.flatMap((line, index) => (inverse(line) ? [index] : []));
	return {ports, selected: selected.length === 1 ? selected[0] : undefined};
}

kernelTest('tcptop in tmux: each frame redraws the whole screen cleanly through sorting, filtering, scrolling, help, detail and resizes', async t => {
	const {tmux, screen, styledScreen, until, session, server, clients} = await liveSetting(t, 'frames');

	// More connections than a 40-line terminal has rows for, so the list scrolls.
	for (let index = 0; index < 60; index++) {
		clients.push(await connectOpen('127.0.0.1', server.port));
	}

	tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40',
		`${process.execPath} ${tcptop} --delay 0.2 dst 127.0.0.1:${server.port}; sleep 60`);
	// A step's effect shows, then a few more frames are drawn over it before the screen is read.
	const step = async (name: string, keys: string[], shows: (frame: string) => boolean, kind: 'list' | 'help' | 'detail' = 'list') => {
		if (keys.length > 0) {
			tmux('send-keys', '-t', session, ...keys);
		}

		await until(name, () => (shows(screen()) ? true : undefined));
		await delay(700);
		checkFrame(t, screen(), name, server.port, kind);
	};

	await step('the first frames', [], frame => / 60 of [\d,]+ shown/.test(frame));
	await step('sorted by PID', ['P'], frame => frame.includes('Sort: PID ▲'));
	await step('sorted by the next column', ['>'], frame => frame.includes('Sort: COMMAND'));
	// By local port (the next column on screen: CONTAINER, left out at this width, is passed
	// over), an order the test knows: its clients' ports, ascending.
	await step('sorted by LOCAL', ['>'], frame => frame.includes('Sort: LOCAL ▲'));
	const ports = clients.map(client => client.localPort!).sort((a, b) => a - b);
	const last = ports.length - 1;
	const shown = () => shownRows(styledScreen(), server.port);
	/** Whether the connection at `index` of the order is selected, on the list's line `line`. */
	const selects = (index: number, line: number | 'last') => () => {
		const {ports: rows, selected} = shown();
		return selected === (line === 'last' ? rows.length - 1 : line) && rows[selected] === ports[index];
	};

	// End selects the last connection, scrolled into view on the list's last line.
	await step('scrolled to the end', ['End'], selects(last, 'last'));
	const height = shown().ports.length;
	t.true(height > 2 && height < ports.length / 2, `${height} rows on the list: more than two pages`);
	t.deepEqual(shown().ports, ports.slice(-height), 'the last page, in order');
	// PgUp moves the selection a page up, a page being the list's height less the one row
	// pages share: here the list's first line, the last page still shown.
	await step('a page up', ['PgUp'], selects(last - (height - 1), 0));
	t.deepEqual(shown().ports, ports.slice(-height));
	// Once more: the row a page above, scrolled to the list's first line.
	const twoPagesUp = last - (2 * (height - 1));
	await step('a page further up', ['PgUp'], selects(twoPagesUp, 0));
	t.deepEqual(shown().ports, ports.slice(twoPagesUp, twoPagesUp + height));
	// Home returns to the first connection, on the first line.
	await step('back to the top', ['Home'], selects(0, 0));
	t.deepEqual(shown().ports, ports.slice(0, height), 'the first page');
	await step('the help', ['?'], frame => frame.includes('Keys (any key returns)'), 'help');
	await step('the help closed', ['x'], frame => !frame.includes('Keys (any key returns)'));
	await step('the detail view', ['Enter'], frame => frame.includes('· Esc or q returns'), 'detail');
	await step('the detail view closed', ['Escape'], frame => !frame.includes('· Esc or q returns'));
	const narrower = ` and sport = :${clients[0]!.localPort!}`;
	tmux('send-keys', '-t', session, '-l', '\\');
	tmux('send-keys', '-t', session, '-l', narrower);
	await step('a narrower filter', ['Enter'], frame => / 1 of [\d,]+ shown/.test(frame));
	tmux('send-keys', '-t', session, '-l', '\\');
	tmux('send-keys', '-t', session, '-N', String(narrower.length), 'BSpace');
	await step('the filter widened again', ['Enter'], frame => / 60 of [\d,]+ shown/.test(frame));
	tmux('resize-window', '-t', session, '-x', '100', '-y', '30');
	await step('a smaller terminal', [], frame => frame.trimEnd().split('\n').length <= 30);
	tmux('resize-window', '-t', session, '-x', '140', '-y', '45');
	await step('a larger terminal', [], frame => frame.split('\n').length >= 45 && frame.includes('RTT'));
	tmux('send-keys', '-t', session, 'q');
});

kernelTest('tcptop in tmux: groups, a group opened and closed again, and the setup saved and found by the next start', async t => {
	const {tmux, screen, styledScreen, until, session, server, clients} = await liveSetting(t, 'groups');
	const config = mkdtempSync(`${tmpdir()}/tcptop-config-`);
	t.teardown(() => {
		rmSync(config, {recursive: true});
	});
	for (let index = 0; index < 3; index++) {
		clients.push(await connectOpen('127.0.0.1', server.port));
	}

	tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', 'sh');
	tmux('set-option', '-t', session, 'remain-on-exit', 'on');
	const run = () => {
		tmux('send-keys', '-t', session, '-l', `env XDG_CONFIG_HOME=${config} ${process.execPath} ${tcptop} --delay 0.2 --max-conns 1000000; echo "tcptop exited with $?"`);
		tmux('send-keys', '-t', session, 'Enter');
	};

	run();
	await until('the first frame', () => (screen().includes('Sort: TROUBLE') ? true : undefined));
	// Keys are read from just after the first frame.
	await delay(300);
	// g four times: process, remote host, remote net, service.
	tmux('send-keys', '-t', session, 'g', 'g', 'g', 'g');
	const service = `:${server.port}`;
	const groupRow = (frame: string) => frame.split('\n').find(line => line.startsWith(`${service} `));
	await until('the groups by service', () => (screen().includes('Groups: SERVICE') && groupRow(screen()) ? true : undefined));
	t.regex(groupRow(screen())!, /^:\d+ +4 .*ESTAB 3 · LISTEN 1/);
	// Found by name, opened: its four sockets; Esc: the groups again.
	// "to :PORT" (the clients' group) shows the text too: n until the selection is on ":PORT".
	const selectedGroup = () => stripVTControlCharacters(styledScreen().split('\n').find(line => line.includes('\u001B[7m')) ?? '');
	tmux('send-keys', '-t', session, '-l', `/${service}`);
	tmux('send-keys', '-t', session, 'Enter');
	await until('the search', () => (screen().includes(`Search: ${service}`) ? true : undefined));
	for (let tries = 0; tries < 4 && !selectedGroup().startsWith(`${service} `); tries++) {
		tmux('send-keys', '-t', session, 'n');
		await delay(300);
	}

	t.true(selectedGroup().startsWith(`${service} `), selectedGroup());
	tmux('send-keys', '-t', session, 'Enter');
	const opened = await until('the group opened', () => (screen().includes(`Group: SERVICE ${service} (Esc back)`) ? screen() : undefined));
	t.regex(opened, /4 of [\d,]+ shown/);
	tmux('send-keys', '-t', session, 'Escape');
	await until('the groups again', () => (screen().includes('Groups: SERVICE') ? true : undefined));

	// F2: the first column, PID, hidden; Esc saves. The next start has no PID column.
	tmux('send-keys', '-t', session, 'F2');
	await until('the setup screen', () => (screen().includes('Setup (') ? true : undefined));
	tmux('send-keys', '-t', session, 'Down', 'Down', 'Down', 'Down', 'Space', 'Escape');
	await until('the setup closed', () => (screen().includes('Groups: SERVICE') ? true : undefined));
	tmux('send-keys', '-t', session, 'q');
	await until('tcptop to exit', () => (screen().includes('tcptop exited with 0') ? true : undefined));
	t.regex(readFileSync(`${config}/tcptop/tcptoprc`, 'utf8'), /^columns=comm,/m);
	t.regex(readFileSync(`${config}/tcptop/tcptoprc`, 'utf8'), /^group_by=service$/m);
	tmux('send-keys', '-t', session, 'clear', 'Enter');
	run();
	// Grouped by service, as the view was when saved; g past container and state: the list.
	await until('the second start', () => (screen().includes('Groups: SERVICE') ? true : undefined));
	await delay(300);
	tmux('send-keys', '-t', session, 'g', 'g', 'g');
	const list = await until('the list', () => (!screen().includes('Groups:') && screen().includes(' shown · ? help') ? screen() : undefined));
	t.regex(list, /^COMMAND +/m, 'no PID column');
	tmux('send-keys', '-t', session, 'q');
	await until('tcptop to exit again', () => (screen().includes('tcptop exited with 0') ? true : undefined));
});
