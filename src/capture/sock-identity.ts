// Socket identities as a recording writes them. Live, a socket's identity is the low 48 bits
// of its kernel address; written to a file those would tell a reader where the kernel's heap
// lies (help in defeating KASLR). A recording writes them through a permutation keyed afresh
// for each recording: the same socket, the same number, within it; two sockets, two numbers;
// nothing of the address without the key, which is never written.
import {randomBytes} from 'node:crypto';

const halfBits = 24;
const halfMask = (1 << halfBits) - 1;
const rounds = 4;

/** One round's function: a 32-bit mix (MurmurHash3's finaliser) of the half and the round's key. */
function mix(half: number, key: number): number {
	let x = (half ^ key) >>> 0;
	x = Math.imul(x ^ (x >>> 16), 0x85_eb_ca_6b);
	x = Math.imul(x ^ (x >>> 13), 0xc2_b2_ae_35);
	return (x ^ (x >>> 16)) & halfMask;
}

/**
 * A keyed permutation of the numbers below 2^48 (a four-round Feistel network over two
 * 24-bit halves, each round with a key of its own).
 */
export function sockPermutation(key: Uint32Array = new Uint32Array(randomBytes(4 * rounds).buffer)): (sock: number) => number {
	return sock => {
		let left = Math.floor(sock / 2 ** halfBits) & halfMask;
		let right = sock & halfMask;
		for (let round = 0; round < rounds; round++) {
			[left, right] = [right, left ^ mix(right, key[round]!)];
		}

		return (left * 2 ** halfBits) + right;
	};
}
