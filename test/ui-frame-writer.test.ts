// What the frame writer sends the terminal: a first frame whole, then only the lines that
// changed, a whole frame again after a resize, frames that come too fast merged. The screen it
// leaves is checked in a real terminal by ui-terminal.test.ts.
import {EventEmitter} from 'node:events';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {FrameWriter} from '../src/ui/frame-writer.js';

function fakeTerminal(columns = 40, rows = 10) {
	const written: string[] = [];
	const out = Object.assign(new EventEmitter(), {
		columns, rows, isTTY: true, destroyed: false, writable: true, writableEnded: false,
		write(data: string) {
			written.push(data);
			return true;
		},
	});
	return {out, written, take: () => written.splice(0).join('')};
}

const frame = (...lines: string[]) => lines.join('\n');

test('the first frame goes out whole; the next ones only as the lines that changed', t => {
	const {out, take} = fakeTerminal();
	const writer = new FrameWriter(out as unknown as NodeJS.WriteStream, 0);
	writer.write(frame('header 1s', 'row a', 'row b', 'footer'));
	const first = take();
	t.true(first.includes('header 1s\nrow a\nrow b\nfooter'));
	t.true(first.includes('\u001B[?25l'), 'the cursor is hidden');

	writer.write(frame('header 2s', 'row a', 'row B', 'footer'));
	const second = take();
	t.true(second.includes('header 2s') && second.includes('row B'), second);
	t.false(second.includes('row a') || second.includes('footer'), 'unchanged lines are not sent');
	// From the last line up to the first, down to the third, back to the last.
	t.regex(second, /\u001B\[3A\r\u001B\[2Kheader 2s\u001B\[2B\r\u001B\[2Krow B\u001B\[1B/);

	writer.write(frame('header 2s', 'row a', 'row B', 'footer'));
	t.is(take(), '', 'an unchanged frame sends nothing');
});

test('a shorter frame erases what is left below it; a taller one adds lines', t => {
	const {out, take} = fakeTerminal();
	const writer = new FrameWriter(out as unknown as NodeJS.WriteStream, 0);
	writer.write(frame('a', 'b', 'c', 'd'));
	take();
	writer.write(frame('a', 'x'));
	t.regex(take(), /\u001B\[2A\r\u001B\[2Kx\u001B\[1B\r\u001B\[J\u001B\[1A/);
	writer.write(frame('a', 'x', 'y', 'z'));
	t.regex(take(), /\r\n\u001B\[2Ky\r\n\u001B\[2Kz/);
});

test('after a resize the frame is drawn whole from the top; at the end the cursor is shown below the frame', t => {
	const {out, take} = fakeTerminal();
	const writer = new FrameWriter(out as unknown as NodeJS.WriteStream, 0);
	let resized = 0;
	writer.on('resize', () => resized++);
	writer.write(frame('a', 'b'));
	take();
	out.emit('resize');
	t.is(resized, 1, 'Ink hears of the resize');
	writer.write(frame('a', 'b'));
	t.true(take().includes('\u001B[H\u001B[2Ja\nb'));
	writer.end();
	t.true(take().endsWith('\r\n\u001B[?25h'));
	writer.write(frame('late'));
	t.is(take(), '', 'nothing is drawn after the end');
});

test('frames that come faster than the interval are merged: the latest is drawn', async t => {
	const {out, take} = fakeTerminal();
	const writer = new FrameWriter(out as unknown as NodeJS.WriteStream, 50);
	writer.write(frame('one'));
	writer.write(frame('two'));
	writer.write(frame('three'));
	t.true(take().includes('one'));
	await delay(80);
	const later = take();
	t.true(later.includes('three') && !later.includes('two'), later);
	writer.end();
});
