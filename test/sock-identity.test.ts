// The keyed permutation recordings write socket identities through.
import test from 'ava';
import {sockPermutation} from '../src/capture/sock-identity.js';

test('a permutation of 48-bit identities: one number per socket, none shared, none left as it was; another key, other numbers', t => {
	const hide = sockPermutation(new Uint32Array([0x1234_5678, 0x9abc_def0, 0x0fed_cba9, 0x8765_4321]));
	const other = sockPermutation(new Uint32Array([1, 2, 3, 4]));
	// Kernel socket addresses, low 48 bits: slab objects 64 bytes apart, as they come.
	const socks = Array.from({length: 100_000}, (_, index) => 0x8881_0000_0000 + (index * 64));
	const hidden = socks.map(sock => hide(sock));
	t.is(new Set(hidden).size, socks.length);
	t.true(hidden.every(value => Number.isInteger(value) && value >= 0 && value < 2 ** 48));
	t.is(hidden.filter((value, index) => value === socks[index]).length, 0);
	t.deepEqual(socks.slice(0, 10).map(sock => hide(sock)), hidden.slice(0, 10), 'the same each time');
	t.is(socks.filter(sock => other(sock) === hide(sock)).length, 0);
	// Neighbouring addresses do not give neighbouring numbers (the high bits are no giveaway).
	const highBits = new Set(hidden.map(value => Math.floor(value / 2 ** 40)));
	t.true(highBits.size > 200, `${highBits.size} distinct top bytes`);
});
