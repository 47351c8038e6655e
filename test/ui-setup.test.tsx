// tsconfig.json covers src/ only, so tsx compiles this file without its jsx setting.
/** @jsxRuntime automatic @jsxImportSource react */
import './helpers/ui-env.js';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import test from 'ava';
import {defaultSettings, formatSettings, loadSettings, parseSettings, saveSettings, settingsPath, type Settings} from '../src/ui/settings.js';
import {established, keys, plain, renderView, rowLines} from './helpers/ui.js';

const f2 = '\u001BOQ';

test('tcptoprc: what the setup screen writes reads back the same; lines it gets wrong are named, their settings left at the defaults', t => {
	const settings: Settings = {columns: ['remote', 'pid', 'state'], delaySeconds: 2, sortKey: 'tx', groupBy: 'service', color: false};
	t.deepEqual(parseSettings(formatSettings(settings)), {settings, problems: []});
	const {settings: damaged, problems} = parseSettings('columns=pid,nonsense\ndelay=-3\nsort=sideways\ngroup_by=planet\ncolor=maybe\nwhat\n# a comment\n\ndelay=5\n');
	t.deepEqual(damaged, {...defaultSettings, delaySeconds: 5});
	t.deepEqual(problems, [
		'line 1: columns: no column nonsense',
		'line 2: delay: \'-3\' is not a number of seconds from 0.1 to 3600',
		'line 3: sort: no order \'sideways\'',
		'line 4: group_by: no grouping \'planet\'',
		'line 5: color: \'maybe\' is not true or false',
		'line 6: unknown setting \'what\'',
	]);
});

test('tcptoprc lives under XDG_CONFIG_HOME, else ~/.config; a missing file is the defaults, quietly; a damaged one a warning', t => {
	t.is(settingsPath({XDG_CONFIG_HOME: '/x', HOME: '/home/a'}), '/x/tcptop/tcptoprc');
	t.is(settingsPath({HOME: '/home/a'}), '/home/a/.config/tcptop/tcptoprc');
	const directory = mkdtempSync(`${tmpdir()}/tcptop-settings-`);
	t.teardown(() => {
		rmSync(directory, {recursive: true});
	});
	const path = `${directory}/tcptop/tcptoprc`;
	const warnings: string[] = [];
	t.deepEqual(loadSettings(message => warnings.push(message), path), defaultSettings);
	t.deepEqual(warnings, []);
	saveSettings({...defaultSettings, delaySeconds: 3}, path);
	t.is(loadSettings(message => warnings.push(message), path).delaySeconds, 3);
	// A home that is not ours (sudo -u keeps HOME): no settings, quietly.
	t.deepEqual(loadSettings(message => warnings.push(message), '/proc/self/fd/0/not-a-dir/tcptoprc'), defaultSettings);
	t.deepEqual(warnings, []);
	writeFileSync(path, 'delay=fast\n');
	t.deepEqual(loadSettings(message => warnings.push(message), path), defaultSettings);
	t.deepEqual(warnings, [`${path}: line 1: delay: 'fast' is not a number of seconds from 0.1 to 3600; the defaults are used for those`]);
});

test('F2: the setup screen hides and moves columns, changes the refresh and the colours, and closing it saves what it shows', async t => {
	const saved: Settings[] = [];
	const view = renderView(t, {columns: 160, rows: 40, saveSettings(settings) {
		saved.push(settings);
		return undefined;
	}});
	view.source.push(established({monoMs: view.clock.now - 1000, pid: 901, comm: 'app', lport: 46_000}));
	await view.until(frame => rowLines(frame).length === 1);
	await view.press(f2);
	let frame = await view.until(frame => plain(frame).includes('Setup ('));
	t.regex(plain(frame), /Refresh +0\.02s[\s\S]*Sort[\s\S]*Group by +none[\s\S]*Colours +on[\s\S]*\[x\] {2}PID/);
	// Down to the colours: off. Down to the first column (PID): hidden. Down to COMMAND, moved first.
	await view.press(keys.down, keys.down, keys.down, ' ', keys.down, ' ', '[');
	await view.until(frame => /Colours +off/.test(plain(frame)) && /\[ \] {2}PID/.test(plain(frame)));
	// The refresh: right from the top.
	await view.press(keys.home, keys.up, keys.up, keys.up, keys.up, '\u001B[C');
	await view.until(frame => /Refresh +0\.5s/.test(plain(frame)));
	await view.press(keys.escape);
	// Saved by an effect after the frame that closed the screen.
	frame = await view.until(frame => !plain(frame).includes('Setup (') && saved.length > 0);
	t.is(saved.length, 1, 'saved once, on closing');
	t.like(saved[0], {delaySeconds: 0.5, color: false});
	t.is(saved[0]!.columns[0], 'comm', 'COMMAND moved first');
	t.false(saved[0]!.columns.includes('pid'));
	// The list as set: COMMAND first, no PID, no colour; the header's refresh.
	const title = plain(frame).split('\n').find(line => line.includes('LOCAL'))!;
	t.regex(title, /^COMMAND +CONTAINER +LOCAL/);
	t.false(frame.includes('\u001B[33m') || frame.includes('\u001B[42m'), 'no colours');
	t.regex(plain(frame), /refresh 0\.5s/);
});

test('the view starts with the saved settings', async t => {
	const view = renderView(t, {columns: 160, rows: 40, settings: {...defaultSettings, columns: ['state', 'remote', 'pid'], groupBy: undefined}});
	view.source.push(established({monoMs: view.clock.now - 1000, pid: 902, comm: 'app', lport: 46_001}));
	const frame = await view.until(frame => plain(frame).includes(':46001') || plain(frame).includes('902'));
	const title = plain(frame).split('\n').find(line => line.includes('REMOTE'))!;
	t.regex(title, /^STATE +REMOTE +PID/);
});
