// The live view on a replay, in a real terminal, without privileges: the recording's host and
// times (ages as they were on the host, not as old as the file), the end said in the status
// line, the view kept until q, and no native addon loaded.
import {hostname} from 'node:os';
import {join} from 'node:path';
import {readFileSync} from 'node:fs';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {TcpState, type Transition} from '../src/core/transition.js';
import {tcptop} from './helpers/cli.js';
import {batch, existing, recordingsFolder, unprivileged, writeRecording} from './helpers/recording.js';
import {terminal} from './helpers/tmux.js';

const {CLOSE, SYN_SENT, ESTABLISHED, LISTEN, SYN_RECV, CLOSE_WAIT} = TcpState;
// Recorded long ago on the host's clock: a view reading the real clock would show other ages.
const startMs = 1_000_000;

function change(sock: number, atMs: number, oldstate: number, newstate: number, fields: Partial<Transition>): Transition {
	return {
		monoMs: atMs, wallMs: atMs + 1_700_000_000_000, sock, netns: 4_026_531_840, family: 4,
		laddr: '127.0.0.1', lport: 41_234, raddr: '127.0.0.1', rport: 5432, pid: 0, tid: 0, comm: 'swapper/0', ms: null,
		oldstate, newstate, ...fields,
	};
}

test('tcptop --replay in tmux: the recording\'s host and times, "Replay ended" until q, no addon', async t => {
	const {tmux, screen, until, session} = terminal('replay', 'replay');
	const path = join(recordingsFolder(t), 'view.ndjson');
	await writeRecording(path, {
		startMs,
		snapshot: {monoMs: startMs, wallMs: startMs, namespaces: [1], owners: true, complete: true, sockets: [
			existing({sock: 1, state: LISTEN, lport: 5432, raddr: '0.0.0.0', rport: 0, pid: 77, comm: 'postgres', monoMs: startMs}),
		]},
		steps: [
			{at: startMs + 1000, batch: batch({transitions: [
				change(2, startMs + 1000, CLOSE, SYN_SENT, {lport: 0, pid: 4242, tid: 4242, comm: 'psql'}),
				change(2, startMs + 1000, SYN_SENT, ESTABLISHED, {ms: 0}),
			]})},
			{at: startMs + 5000, batch: batch({transitions: [
				change(3, startMs + 5000, LISTEN, SYN_RECV, {laddr: '127.0.0.1', lport: 5432, rport: 41_999}),
				change(3, startMs + 5000, SYN_RECV, ESTABLISHED, {lport: 5432, rport: 41_999, ms: 0}),
				change(3, startMs + 5000, ESTABLISHED, CLOSE_WAIT, {lport: 5432, rport: 41_999, ms: 0}),
			]})},
		],
		endMs: startMs + 65_000,
	});
	t.teardown(() => {
		try {
			tmux('kill-server');
		} catch {
			// Already gone.
		}
	});

	tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '20',
		`${unprivileged.join(' ')} ${process.execPath} ${tcptop} --replay ${path} --speed 0 --delay 0.2; echo "tcptop exited with $?"`);
	tmux('set-option', '-t', session, 'remain-on-exit', 'on');
	const frame = await until('the end of the replay', () => (screen().includes('Replay ended') ? screen() : undefined));
	const lines = frame.split('\n');
	t.regex(lines[0]!, new RegExp(`^tcptop - ${hostname()} - Linux \\S+ - up 1m05s`), 'the recording\'s uptime: 65 s');
	t.regex(lines[3]!, /^Replay ended, q quits · Sort: TROUBLE ▼ {2}3 of 3 shown/);
	const row = (text: string) => lines.find(line => line.includes(text)) ?? '';
	t.regex(row(':41234'), /4242 psql\s+127\.0\.0\.1:41234\s+127\.0\.0\.1:5432\s+ESTAB\s+1m04s\s+1m04s/);
	t.regex(row(':41999'), /postgres\s+127\.0\.0\.1:5432\s+127\.0\.0\.1:41999\s+CLOSE-WAIT\s+1m00s\s+1m00s/);
	// Found by the start-up snapshot: at least that old.
	t.regex(row('*'), /77 postgres\s+127\.0\.0\.1:5432\s+0\.0\.0\.0:\*\s+LISTEN\s+>1m05s/);

	const shell = tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim();
	const pid = Number(readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim());
	const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
	t.true(maps.includes('node'), 'the maps of the replaying process');
	t.false(maps.includes('tcptop.node'), 'the native addon is not loaded');

	// Still there a moment later; the clock stays at the recording's end.
	await delay(500);
	t.regex(screen(), /up 1m05s/);
	t.regex(screen(), /Replay ended/);
	tmux('send-keys', '-t', session, 'q');
	await until('tcptop to exit', () => (screen().includes('tcptop exited with 0') ? true : undefined));
});
