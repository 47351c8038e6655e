import test from 'ava';
import {TcpState, type Transition} from '../src/core/transition.js';
import {ConnectionTable} from '../src/model/connection-table.js';
import {WindowedDurations} from '../src/model/durations.js';
import {groupKindByKey} from '../src/model/groups.js';

const {CLOSE, SYN_SENT, ESTABLISHED, CLOSE_WAIT, LAST_ACK, FIN_WAIT1} = TcpState;

test('a window\'s quantiles are those of the durations recorded in it, to HdrHistogram\'s two digits', t => {
	const durations = new WindowedDurations(5000, 13);
	// 1..100 ms, one each, over the first 10 s.
	for (let ms = 1; ms <= 100; ms++) {
		durations.record(100 * ms, ms);
	}

	const quantiles = durations.quantiles(10_000, 60_000)!;
	t.is(quantiles.count, 100);
	t.true(Math.abs(quantiles.p50 - 50) <= 0.5, String(quantiles.p50));
	t.true(Math.abs(quantiles.p90 - 90) <= 0.9, String(quantiles.p90));
	t.true(Math.abs(quantiles.p99 - 99) <= 1, String(quantiles.p99));
	t.true(Math.abs(quantiles.max - 100) <= 1, String(quantiles.max));
	// The buckets hold every duration, each in the bucket whose range holds it.
	const buckets = durations.buckets(10_000, 60_000);
	t.is(buckets.reduce((sum, bucket) => sum + bucket.count, 0), 100);
	for (const [index, bucket] of buckets.entries()) {
		t.is(bucket.fromMs, index === 0 ? 0 : buckets[index - 1]!.toMs, 'buckets follow each other');
	}

	// 32.768-65.536 ms holds 33 to 65.
	const bucket = buckets.find(candidate => candidate.fromMs <= 50 && 50 < candidate.toMs)!;
	t.is(bucket.toMs, 2 * bucket.fromMs);
	t.true(Math.abs(bucket.count - 33) <= 1, String(bucket.count));
});

test('a window forgets what is older than it, a slice at a time', t => {
	const durations = new WindowedDurations(5000, 13);
	durations.record(1000, 900);
	durations.record(61_000, 2);
	// A window is whole slices of 5 s, the one under way and those before it that cover the
	// window: at 62 s, the last 60 s reach back to 0 s, and hold both.
	t.is(durations.quantiles(62_000, 60_000)!.count, 2);
	t.is(durations.quantiles(62_000, 10_000)!.count, 1, 'the last 10 s (from 50 s): the 2 ms one');
	// At 66 s the 0-5 s slice is out of the minute: forgotten.
	t.is(durations.quantiles(66_000, 60_000)!.count, 1);
	t.true(durations.quantiles(66_000, 60_000)!.max < 3);
	durations.record(64_000, 4);
	t.is(durations.quantiles(64_000, 10_000)!.count, 2);
	// Long after: nothing.
	t.is(durations.quantiles(200_000, 60_000), undefined);
	// A slice used again starts empty.
	durations.record(126_000, 7);
	t.is(durations.quantiles(126_000, 10_000)!.count, 1);
});

function transition(fields: Partial<Transition> & {oldstate: number; newstate: number; monoMs: number}): Transition {
	return {wallMs: 0, sock: 1, netns: 1, pid: 0, tid: 0, comm: '', family: 4, laddr: '10.0.0.1', lport: 40_000, raddr: '10.0.0.2', rport: 443, ms: null, ...fields};
}

test('the table keeps handshakes, times to close and CLOSE-WAIT times by edge, and handshakes by group', t => {
	const table = new ConnectionTable();
	table.groupBy(groupKindByKey('service'), 0);
	for (let index = 0; index < 10; index++) {
		const tuple = {sock: 100 + index, lport: 40_000 + index};
		const at = 1000 + (index * 10);
		table.apply(transition({...tuple, oldstate: CLOSE, newstate: SYN_SENT, monoMs: at, lport: 0, pid: 9, comm: 'app'}));
		// The handshake: 2 ms, then 12 ms for the last.
		table.apply(transition({...tuple, oldstate: SYN_SENT, newstate: ESTABLISHED, monoMs: at + (index === 9 ? 12 : 2)}));
		// The peer closes after 500 ms; this end closes 300 ms later.
		table.apply(transition({...tuple, oldstate: ESTABLISHED, newstate: CLOSE_WAIT, monoMs: at + 500}));
		table.apply(transition({...tuple, oldstate: CLOSE_WAIT, newstate: LAST_ACK, monoMs: at + 800}));
	}

	const of = (from: number, to: number) => table.durations.of(from, to)!.quantiles(3000, 60_000)!;
	t.is(of(SYN_SENT, ESTABLISHED).count, 10);
	t.true(Math.abs(of(SYN_SENT, ESTABLISHED).p50 - 2) < 0.05);
	t.true(Math.abs(of(SYN_SENT, ESTABLISHED).max - 12) < 0.1);
	t.true(Math.abs(of(ESTABLISHED, CLOSE_WAIT).p50 - 498) < 5, 'from ESTABLISHED to the peer\'s close');
	t.true(Math.abs(of(CLOSE_WAIT, LAST_ACK).p99 - 300) < 3);
	t.is(table.durations.of(ESTABLISHED, FIN_WAIT1)!.quantiles(3000, 60_000), undefined, 'none closed here');
	t.is(table.durations.of(LAST_ACK, CLOSE), undefined, 'not a timed edge');
	const [group] = table.groups!.sample(3000);
	t.is(group!.key, 'to :443');
	t.is(group!.handshake()!.count, 10);
	t.true(Math.abs(group!.handshake()!.p50 - 2) < 0.05);
});
