import test from 'ava';
import {formatIPv6} from '../src/capture/address.js';
import type {Transition} from '../src/core/transition.js';
import {TcpState} from '../src/core/transition.js';
import {formatCount} from '../src/core/format.js';
import {jsonLine, sanitize} from '../src/core/sanitize.js';
import {TextLayout, transitionJson} from '../src/output/trace-format.js';

function ipv6(text: string): Uint8Array {
	// Expands a full eight-group address (no "::") into bytes.
	const bytes = new Uint8Array(16);
	for (const [index, group] of text.split(':').entries()) {
		const value = Number.parseInt(group, 16);
		bytes[index * 2] = value >> 8;
		bytes[(index * 2) + 1] = value & 0xff;
	}

	return bytes;
}

const compressed: Array<[string, string]> = [
	['0:0:0:0:0:0:0:0', '::'],
	['0:0:0:0:0:0:0:1', '::1'],
	['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
	['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
	['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
	['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
	['fe80:0:0:0:0:0:0:0', 'fe80::'],
	['0:0:0:0:0:ffff:7f00:1', '::ffff:127.0.0.1'],
	['2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:FFFF', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
];

for (const [full, expected] of compressed) {
	test(`IPv6 ${full} is written ${expected} (RFC 5952)`, t => {
		t.is(formatIPv6(ipv6(full), 0), expected);
	});
}

test('control characters from outside are shown, not obeyed', t => {
	t.is(sanitize('\u001b]0;owned\u0007evil'), '\\x1b]0;owned\\x07evil');
	t.is(sanitize('a\u009b2Jb'), 'a\\x9b2Jb');
	t.is(sanitize('\u202eexe.txt'), '\\u202eexe.txt');
	t.is(sanitize('nginx: worker'), 'nginx: worker');
});

test('JSON lines escape DEL and C1 controls that JSON.stringify leaves raw', t => {
	const line = jsonLine({comm: 'x\u009b\u007fy\u001b'});
	t.is(line, String.raw`{"comm":"x\u009b\u007fy\u001b"}`);
	t.deepEqual(JSON.parse(line), {comm: 'x\u009b\u007fy\u001b'});
});

const sample: Transition = {
	monoMs: 1,
	wallMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
	sock: 1,
	netns: 4_026_531_840,
	pid: 42,
	tid: 43,
	comm: 'bad\u001b[2Jname',
	family: 4,
	laddr: '127.0.0.1',
	lport: 5000,
	raddr: '127.0.0.2',
	rport: 80,
	oldstate: TcpState.ESTABLISHED,
	newstate: TcpState.CLOSE_WAIT,
	ms: 12.345_678,
};

test('a text line has the tcpstates columns, sanitised', t => {
	const layout = new TextLayout();
	t.regex(layout.header(), /^TIME\s+PID\s+COMM\s+LADDR\s+LPORT\s+RADDR\s+RPORT\s+OLDSTATE\s+-> NEWSTATE\s+MS$/);
	const fields = layout.line(sample).split(/\s+/);
	t.deepEqual(fields.slice(1), ['42', 'bad\\x1b[2Jname', '127.0.0.1', '5000', '127.0.0.2', '80', 'ESTABLISHED', '->', 'CLOSE_WAIT', '12.346']);
	t.regex(fields[0]!, /^\d\d:\d\d:\d\d$/);
	t.is(layout.line({...sample, ms: null}).split(/\s+/).at(-1), '-');
	// Addresses read from a recording are text too.
	t.false(layout.line({...sample, laddr: '1.2.3.4\u001B]0;x\u0007'}).includes('\u001B'));
	t.regex(layout.line({...sample, laddr: '1.2.3.4\u001B]0;x\u0007'}), /1\.2\.3\.4\\x1b]0;x\\x07/);
});

test('the JSON form names states and keeps ms a number or null', t => {
	t.deepEqual(transitionJson(sample), {
		time: '2026-01-02T03:04:05.678Z',
		pid: 42,
		tid: 43,
		comm: 'bad\u001b[2Jname',
		family: 4,
		laddr: '127.0.0.1',
		lport: 5000,
		raddr: '127.0.0.2',
		rport: 80,
		oldstate: 'ESTABLISHED',
		newstate: 'CLOSE_WAIT',
		ms: 12.346,
		netns: 4_026_531_840,
	});
	t.is(transitionJson({...sample, ms: null}).ms, null);
});

test('counts are grouped by thousands as en-US writes them', t => {
	const values = [0, 7, 999, 1000, 1234.5, 99_999, 100_000, 1_234_567, 65_536, -1, -1000, -1_234_567.4, 0.4, 2 ** 40];
	for (let power = 0; power < 16; power++) {
		values.push(10 ** power - 1, 10 ** power, 10 ** power + 1);
	}

	for (const value of values) {
		t.is(formatCount(value), Math.round(value).toLocaleString('en-US'), String(value));
	}
});
