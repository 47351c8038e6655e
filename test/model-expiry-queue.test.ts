// The queues of rows due to leave: in deadline order, and bounded under churn by dropping the
// entries of rows that are gone, never those of rows still waiting.
import test from 'ava';
import {ExpiryQueue} from '../src/model/expiry-queue.js';

test('entries expire in order, each once', t => {
	const queue = new ExpiryQueue(100, () => true);
	queue.push(1, 0, 10);
	queue.push(2, 0, 20);
	queue.push(3, 0, 30);
	const expired: number[] = [];
	queue.popExpired(20, slot => expired.push(slot));
	queue.popExpired(25, slot => expired.push(slot));
	t.deepEqual(expired, [1, 2]);
	t.is(queue.length, 1);
});

test('under churn the queue keeps to its bound, and the rows still waiting still expire', t => {
	// Rows 0..9 are current; every other entry stands for a row evicted since it was queued.
	const current = (slot: number, generation: number) => slot < 10 && generation === 0;
	const queue = new ExpiryQueue(1000, current);
	let longest = 0;
	for (let index = 0; index < 100_000; index++) {
		queue.push(index % 10_000, index < 10 ? 0 : 1, index);
		longest = Math.max(longest, queue.length);
	}

	t.true(longest <= 4096, `at most ${longest} entries queued`);

	const expired: number[] = [];
	queue.popExpired(100_000, (slot, generation) => {
		if (current(slot, generation)) {
			expired.push(slot);
		}
	});
	t.deepEqual(expired, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
