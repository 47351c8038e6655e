// The view's frames through the fast `Output.get` (src/ui/fast-output.ts) against Ink's own:
// the same lines, byte for byte, on every screen of the view, and Ink's own taking the frames
// the fast one does not handle.
import './helpers/ui-env.js';
import test from 'ava';
import {TcpState} from '../src/core/transition.js';
import {outputGetters} from '../src/ui/fast-output.js';
import {established, keys, plain, renderView, rowLines, transition, type ViewHarness} from './helpers/ui.js';

const {ESTABLISHED, CLOSE_WAIT, SYN_SENT, CLOSE} = TcpState;
const f6 = '\u001B[17~';

type Tally = {compared: number; handedToInk: number; mismatches: string[]};

/** Draws every frame with both getters while `body` runs; the frame shown is Ink's own. */
async function compareFrames(body: () => Promise<void>): Promise<Tally> {
	const getters = outputGetters();
	if (!getters) {
		throw new Error('the fast Output.get is not installed');
	}

	const tally: Tally = {compared: 0, handedToInk: 0, mismatches: []};
	const installed = getters.prototype.get;
	getters.prototype.get = function () {
		const ink = getters.ink.call(this);
		const fast = getters.fast(this);
		if (fast === undefined) {
			tally.handedToInk++;
		} else {
			tally.compared++;
			if (fast.output !== ink.output || fast.height !== ink.height) {
				tally.mismatches.push(`Ink:\n${ink.output}\nfast:\n${fast.output}`);
			}
		}

		return ink;
	};

	try {
		await body();
	} finally {
		getters.prototype.get = installed;
	}

	return tally;
}

/** Busy enough for every pane: connects, a refused connect, a stuck CLOSE_WAIT, a closed row. */
function traffic(view: ViewHarness): void {
	const start = view.clock.now - 40_000;
	for (let second = 0; second < 10; second++) {
		view.source.push(established({monoMs: start + (second * 1000), pid: 300 + second, comm: `worker-${second}`, lport: 41_000 + second, rport: 5432}));
	}

	view.source.push([
		transition({monoMs: start + 5000, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, pid: 0, comm: 'swapper/1', lport: 41_003, rport: 5432}),
		transition({monoMs: view.clock.now - 500, sock: 7, oldstate: CLOSE, newstate: SYN_SENT, lport: 42_000, rport: 81, comm: 'refused'}),
		transition({monoMs: view.clock.now - 400, sock: 7, oldstate: SYN_SENT, newstate: CLOSE, lport: 42_000, rport: 81, comm: 'refused', ms: 100}),
	], 3);
}

test.serial('every screen of the view comes out of the fast Output.get as out of Ink\'s, colour and no colour', async t => {
	for (const color of [true, false]) {
		const tally = await compareFrames(async () => {
			const view = renderView(t, {columns: 120, rows: 40, color});
			traffic(view);
			await view.until(frame => rowLines(frame).length === 11);
			await view.press('\t');
			await view.until(frame => frame.includes('┌'));
			await view.press(keys.down, keys.down, '\t', keys.down, keys.down, 'l');
			await view.until(frame => plain(frame).includes('TIME'));
			await view.press('P', 'I', '?');
			await view.until(frame => frame.includes('Keys (any key returns)'));
			await view.press('x', keys.enter);
			await view.until(frame => frame.includes('Esc or q returns'));
			await view.press(keys.escape, f6);
			await view.until(frame => frame.includes('Sort connections by'));
			await view.press(keys.escape, '\\', ...'dport = :5432 and');
			await view.until(frame => frame.includes('Enter applies'));
			await view.press(keys.enter, ' ', 's');
			view.resize(60, 12);
			await view.until(frame => frame.split('\n').length <= 12);
			view.unmount();
		});
		t.deepEqual(tally.mismatches, [], color ? 'in colour' : 'without colour');
		t.true(tally.compared > 20, `${tally.compared} frames compared`);
		t.is(tally.handedToInk, 0, 'ASCII and the view\'s own symbols are all the fast one\'s');
	}
});

test.serial('a frame with a character the fast Output.get does not take is Ink\'s own, and shows it', async t => {
	const tally = await compareFrames(async () => {
		const view = renderView(t);
		view.source.push(established({monoMs: view.clock.now - 1000, pid: 400, comm: '数据库', lport: 40_500, rport: 5432}));
		const frame = await view.until(frame => rowLines(frame).length === 1);
		t.true(frame.includes('数据库'), frame);
		view.unmount();
	});
	t.true(tally.handedToInk > 0);
	t.deepEqual(tally.mismatches, []);
});
