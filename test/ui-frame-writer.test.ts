// What the frame writer sends the terminal: a first frame whole, then only the lines that
// changed, a whole frame again after a resize, frames that come too fast merged. The screen it
// leaves is checked in a real terminal by ui-terminal.test.ts.
import {EventEmitter} from 'node:events';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {FrameWriter, lineChange} from '../src/ui/frame-writer.js';

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
	t.false(second.includes('row') || second.includes('header') || second.includes('footer'), 'unchanged text is not sent');
	// From the last line up to the first, its 8th column; down to the third, its 5th column; back to the last.
	t.regex(second, /\u001B\[3A\u001B\[8G2\u001B\[2B\u001B\[5GB\u001B\[1B/);

	writer.write(frame('header 2s', 'row a', 'row B', 'footer'));
	t.is(take(), '', 'an unchanged frame sends nothing');
});

/** A terminal line after `change` (CR, CSI n G, CSI K, CSI 2K and text; one column a character). */
function applyTo(old: string, change: string): string {
	let cells = [...old];
	let column = 0;
	for (const [, control, number, final, text] of change.matchAll(/(\r)|\u001B\[(\d*)([GK])|(\u001B\[[\d;]*m|[^\r\u001B])/g)) {
		if (control) {
			column = 0;
		} else if (final === 'G') {
			column = Number(number) - 1;
		} else if (final === 'K') {
			cells = number === '2' ? [] : cells.slice(0, column);
		} else {
			cells[column++] = text!;
		}
	}

	return cells.join('');
}

test('a line changes by its changed stretches; a line with styles, or wide characters, is rewritten whole', t => {
	const old = '  4242 postgres   127.0.0.1:5432   ESTAB   59s   59s     0   0';
	const line = '  4242 postgres   127.0.0.1:5432   ESTAB  1m00s 1m00s    0   0';
	const change = lineChange(old, line);
	t.is(applyTo(old, change), line);
	t.is(change, '\u001B[43G1m00s 1m00s', 'the ages only');
	for (const [before, after] of [['rates 1.0 2.0', 'rates 1.0'], ['up 59s', 'up 1m00s'], ['new ▁▂▃ 7', 'new ▂▃▄ 7'], ['a', 'b'], ['abc', '']]) {
		t.is(applyTo(before!, lineChange(before!, after!)), after!);
	}

	t.is(lineChange('rates 1.0 2.0', 'rates 1.0'), '\u001B[10G\u001B[K', 'a shorter line: the rest is erased');
	t.is(lineChange('\u001B[7m  4242 a\u001B[27m', '\u001B[7m  4242 b\u001B[27m'), '\r\u001B[2K\u001B[7m  4242 b\u001B[27m');
	t.is(lineChange('  4242 数据库 59s', '  4242 数据库 60s'), '\r\u001B[2K  4242 数据库 60s', 'a wide character: columns are not string indexes');
});

test('a shorter frame erases what is left below it; a taller one adds lines', t => {
	const {out, take} = fakeTerminal();
	const writer = new FrameWriter(out as unknown as NodeJS.WriteStream, 0);
	writer.write(frame('a', 'b', 'c', 'd'));
	take();
	writer.write(frame('a', 'x'));
	t.regex(take(), /\u001B\[2A\u001B\[1Gx\u001B\[1B\r\u001B\[J\u001B\[1A/);
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
