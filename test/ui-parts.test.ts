// The view's pure parts: reading keys, drawing sparklines, sharing the screen, keeping the log.
import test from 'ava';
import {TcpState} from '../src/core/transition.js';
import {TransitionLog} from '../src/model/transition-log.js';
import {RateSeries, TransitionRates} from '../src/model/transition-rates.js';
import {decodeKeys, KeyDecoder, type KeyPress} from '../src/ui/keys.js';
import {paneHeights, tableHeight} from '../src/ui/layout.js';
import {sparkline} from '../src/ui/sparkline.js';
import {summariseTransitions, type TransitionRow} from '../src/ui/transitions-summary.js';
import {transition} from './helpers/ui.js';

test('keys: named keys, typed text one character each, control characters and unknown sequences dropped', t => {
	t.deepEqual(decodeKeys('\u001B[A'), [{name: 'up'}]);
	t.deepEqual(decodeKeys('\u001BOB'), [{name: 'down'}]);
	t.deepEqual(decodeKeys('\u001B[17~'), [{name: 'f6'}]);
	t.deepEqual(decodeKeys('\u001B[21~'), [{name: 'f10'}]);
	t.deepEqual(decodeKeys('\u001B'), [{name: 'escape'}]);
	t.deepEqual(decodeKeys('\t'), [{name: 'tab'}]);
	t.deepEqual(decodeKeys('Pq\r'), [{text: 'P'}, {text: 'q'}, {name: 'enter'}]);
	t.deepEqual(decodeKeys('a\u0007\u009Bb\u007F'), [{text: 'a'}, {text: 'b'}, {name: 'backspace'}]);
	t.deepEqual(decodeKeys('\u0003'), [{name: 'ctrlC'}]);
	for (const unknown of ['\u001B[1;5P', '\u001B[<0;1', '\u001B[<0;1;1X', '\u001B[200~', '\u001Bx', '\u001B]']) {
		t.deepEqual(decodeKeys(unknown), [], JSON.stringify(unknown));
	}
});

test('keys: SGR mouse reports, press and release, the wheel, with the modifier bits left out', t => {
	t.deepEqual(decodeKeys('\u001B[<0;12;7M'), [{name: 'mouse', mouse: {button: 0, x: 12, y: 7, release: false}}]);
	t.deepEqual(decodeKeys('\u001B[<0;12;7m'), [{name: 'mouse', mouse: {button: 0, x: 12, y: 7, release: true}}]);
	t.deepEqual(decodeKeys('\u001B[<65;1;30M'), [{name: 'mouse', mouse: {button: 65, x: 1, y: 30, release: false}}]);
	// Ctrl (16) and Shift (4) held: the same button.
	t.deepEqual(decodeKeys('\u001B[<20;3;4M'), [{name: 'mouse', mouse: {button: 0, x: 3, y: 4, release: false}}]);
});

test('keys: the body of a pasted control string is never typed, and keys after it are keys', t => {
	// Input events as Ink splits them: an opener alone, then its body as text.
	const typed = (events: ReadonlyArray<string | [string, number]>) => {
		const decoder = new KeyDecoder();
		const presses: KeyPress[] = [];
		for (const event of events) {
			const [data, at] = typeof event === 'string' ? [event, 0] : event;
			presses.push(...decoder.decode(data, at));
		}

		return presses.map(press => press.text ?? `<${press.name}>`).join('');
	};

	t.is(typed(['a', '\u001B]', '0;evil title\u0007b']), 'ab', 'OSC ended by BEL');
	t.is(typed(['a', '\u001B]', '8;;http://x/', '\u001B\\', 'b']), 'ab', 'OSC ended by ST');
	t.is(typed(['\u001BP', '1$r0m', '\u001B\\', 'q']), 'q', 'DCS');
	t.is(typed(['\u001B_', 'Gi=1;AAAA\u009Cq']), 'q', 'APC ended by C1 ST');
	t.is(typed(['\u001B]', 'title', '\u001B[A', 'x']), '<up>x', 'any escape ends the string');
	t.is(typed([['\u001B]', 0], ['never ended', 10], ['q', 500]]), 'q', 'an unended string stops swallowing keys');
	t.is(typed(['P', 'q']), 'Pq', 'P alone is a key');
});

test('sparkline: scaled to its largest value, blank where nothing happened, squeezed by summing', t => {
	t.is(sparkline([0, 1, 2, 4, 8], 5), ' ▁▂▄█');
	t.is(sparkline([0, 0, 0, 0], 4), '    ');
	t.is(sparkline([1, 1, 0, 0, 0, 2], 3), '█ █', 'pairs summed: 2, 0, 2');
	t.is(sparkline([5, 0, 0, 0, 0, 0], 2), '█ ', 'an event is never squeezed out');
	t.is(sparkline([1, 2, 3], 0), '');
});

test('layout: the focused pane gets the larger share; the table only where it fits; a tiny terminal shows one pane', t => {
	t.deepEqual(paneHeights(19, {focus: 'connections', log: false, transitionRows: 8, tableWidthFits: true}), {connections: 13, transitions: 6, log: 0, table: false});
	t.deepEqual(paneHeights(19, {focus: 'transitions', log: false, transitionRows: 8, tableWidthFits: true}), {connections: 10, transitions: 9, log: 0, table: false});
	t.deepEqual(paneHeights(45, {focus: 'transitions', log: false, transitionRows: 8, tableWidthFits: true}), {connections: 25, transitions: tableHeight(8), log: 0, table: true});
	t.false(paneHeights(45, {focus: 'transitions', log: false, transitionRows: 8, tableWidthFits: false}).table);
	t.deepEqual(paneHeights(40, {focus: 'connections', log: true, transitionRows: 4, tableWidthFits: false}), {connections: 25, transitions: 5, log: 10, table: false});
	t.deepEqual(paneHeights(5, {focus: 'connections', log: true, transitionRows: 4, tableWidthFits: true}), {connections: 5, transitions: 0, log: 0, table: false});
	t.deepEqual(paneHeights(5, {focus: 'transitions', log: false, transitionRows: 4, tableWidthFits: true}), {connections: 0, transitions: 5, log: 0, table: false});
	for (let available = 1; available < 60; available++) {
		const heights = paneHeights(available, {focus: 'connections', log: true, transitionRows: 12, tableWidthFits: true});
		t.true(heights.connections + heights.transitions + heights.log <= Math.max(1, available), `fits in ${available}`);
	}
});

test('transition log: newest first, only the last `capacity` kept, filtered on the way out', t => {
	const log = new TransitionLog(3);
	const at = (monoMs: number, newstate: number) => transition({monoMs, oldstate: TcpState.SYN_SENT, newstate});
	log.push([at(1, TcpState.ESTABLISHED), at(2, TcpState.CLOSE)]);
	t.deepEqual(log.recent(10).map(entry => entry.monoMs), [2, 1]);
	log.push([at(3, TcpState.ESTABLISHED), at(4, TcpState.ESTABLISHED), at(5, TcpState.CLOSE), at(6, TcpState.ESTABLISHED)]);
	t.deepEqual(log.recent(10).map(entry => entry.monoMs), [6, 5, 4]);
	t.deepEqual(log.recent(1).map(entry => entry.monoMs), [6]);
	t.deepEqual(log.recent(10, entry => entry.newstate === TcpState.CLOSE).map(entry => entry.monoMs), [5]);
});

test('the Transitions pane\'s named series: retransmits and listen drops only where the source reads the namespace\'s counters', t => {
	const rates = new TransitionRates();
	rates.count(RateSeries.retransmits, 1000, 12);
	rates.count(RateSeries.listenDrops, 1000, 3);
	const labels = (rows: readonly TransitionRow[]) => rows.filter(row => row.series).map(row => row.label);
	t.deepEqual(labels(summariseTransitions(rates)), ['new connections', 'failed connects', 'resets', 'lost events'], 'a replay: none');
	const rows = summariseTransitions(rates, true);
	t.deepEqual(labels(rows), ['new connections', 'failed connects', 'resets', 'lost events', 'retransmits', 'SYN retransmits', 'listen overflows', 'listen drops']);
	t.like(rows.find(row => row.label === 'retransmits'), {total: 12, failure: false});
	t.like(rows.find(row => row.label === 'listen drops'), {total: 3, failure: true});
});
