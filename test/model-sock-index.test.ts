// The index of rows by kernel socket identity agrees with a Map, through growth, overwrites,
// identities that share their low or high bits, and the made-up identity 0.
import test from 'ava';
import {SockIndex} from '../src/model/sock-index.js';

/** A kernel-like address: the direct map's high bits, 64-byte aligned. */
function address(random: () => number): number {
	return (0x8880 * 2 ** 32) + (Math.floor(random() * 2 ** 26) * 64);
}

/** A small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
	let state = seed;
	return () => {
		state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
		return state / 2 ** 32;
	};
}

test('agrees with a Map through growth and overwrites', t => {
	const random = seeded(7);
	const index = new SockIndex();
	const oracle = new Map<number, number>();
	const recent: number[] = [];
	for (let step = 0; step < 200_000; step++) {
		// Reuse recent identities now and then, as the kernel reuses a freed socket's address.
		const sock = recent.length > 0 && random() < 0.3 ? recent[Math.floor(random() * recent.length)]! : address(random);
		recent[step % 64] = sock;
		index.set(sock, step);
		oracle.set(sock, step);
	}

	t.is(index.size, oracle.size);
	for (const [sock, row] of oracle) {
		if (index.get(sock) !== row) {
			t.fail(`identity ${sock}: ${index.get(sock)}, not ${row}`);
			return;
		}
	}

	for (let probe = 0; probe < 10_000; probe++) {
		const sock = address(random) + 8; // never set: not 64-byte aligned
		t.is(index.get(sock), undefined);
	}
});

test('identities that differ only in their high bits, or only in their low bits, stay apart', t => {
	const index = new SockIndex();
	for (let high = 0; high < 2000; high++) {
		index.set((high * 2 ** 32) + 4096, high);
		index.set(0x7FFF * 2 ** 32 + (high * 64), 10_000 + high);
	}

	t.is(index.size, 4000);
	t.is(index.get((1234 * 2 ** 32) + 4096), 1234);
	t.is(index.get(0x7FFF * 2 ** 32 + (1999 * 64)), 11_999);
	t.is(index.get((2000 * 2 ** 32) + 4096), undefined);
});

test('identity 0 is kept apart from the free places', t => {
	const index = new SockIndex();
	t.is(index.get(0), undefined);
	index.set(0, 5);
	index.set(64, 6);
	t.is(index.get(0), 5);
	t.is(index.get(64), 6);
	t.is(index.size, 2);
	index.set(0, 9);
	t.is(index.get(0), 9);
	t.is(index.size, 2);
});
