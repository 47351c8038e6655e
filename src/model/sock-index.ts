// Rows by kernel socket identity (the low 48 bits of a socket's address, see Transition.sock).
//
// A Map keyed by such numbers keeps each key as a heap number of its own (they are past the
// small-integer range) next to its entry: about 40 bytes a row at a million rows. This table
// keeps keys and rows in two typed arrays, open addressing with linear probing: 12 bytes a
// place, at most half of the places in use, and nothing for the garbage collector to trace.
//
// Entries are set (overwriting) and never deleted one by one: the caller drops stale ones by
// building a new index (see ConnectionTable.indexSock).

/** Marks a free place. A kernel address is never 0; an identity of 0 (made up) is kept apart. */
const free = 0;

export class SockIndex {
	#keys: Float64Array;
	#rows: Int32Array;
	#size = 0;
	/** The row of identity 0, which cannot have a place. */
	#zeroRow: number | undefined;
	/** log2 of the number of places. */
	#bits: number;

	constructor(expected = 0) {
		this.#bits = 10;
		while ((1 << this.#bits) < expected * 2) {
			this.#bits++;
		}

		this.#keys = new Float64Array(1 << this.#bits);
		this.#rows = new Int32Array(1 << this.#bits);
	}

	/** Identities held. */
	get size(): number {
		return this.#size + (this.#zeroRow === undefined ? 0 : 1);
	}

	get(sock: number): number | undefined {
		if (sock === free) {
			return this.#zeroRow;
		}

		const keys = this.#keys;
		const mask = keys.length - 1;
		for (let place = this.#place(sock); ; place = (place + 1) & mask) {
			const key = keys[place]!;
			if (key === sock) {
				return this.#rows[place];
			}

			if (key === free) {
				return undefined;
			}
		}
	}

	set(sock: number, row: number): void {
		if (sock === free) {
			this.#zeroRow = row;
			return;
		}

		if ((this.#size + 1) * 2 > this.#keys.length) {
			this.#grow();
		}

		const keys = this.#keys;
		const mask = keys.length - 1;
		for (let place = this.#place(sock); ; place = (place + 1) & mask) {
			const key = keys[place]!;
			if (key === sock || key === free) {
				if (key === free) {
					keys[place] = sock;
					this.#size++;
				}

				this.#rows[place] = row;
				return;
			}
		}
	}

	/** Fibonacci hashing of the identity's two halves: the top bits of the product pick the place. */
	#place(sock: number): number {
		const low = sock >>> 0;
		const high = (sock / 4_294_967_296) >>> 0;
		return Math.imul(low ^ Math.imul(high, 0x27_d4_eb_2d), 0x9E_37_79_B1) >>> (32 - this.#bits);
	}

	#grow(): void {
		const keys = this.#keys;
		const rows = this.#rows;
		this.#bits++;
		this.#keys = new Float64Array(1 << this.#bits);
		this.#rows = new Int32Array(1 << this.#bits);
		this.#size = 0;
		for (let place = 0; place < keys.length; place++) {
			if (keys[place] !== free) {
				this.set(keys[place]!, rows[place]!);
			}
		}
	}
}
