// Slots due to leave the table at a deadline, in deadline order.
//
// Every entry in one queue waits the same time (linger, or TIME_WAIT's 60 s) from the moment it
// was queued, so pushing in time order keeps the queue sorted and expiring is popping the front:
// no timer per connection and no scan of the table.
//
// Under churn a queue takes an entry per connection (tens of thousands a second, for 60 s), most
// of them for rows the table has long evicted or reused: entries live in typed arrays (16 bytes
// each, nothing for the garbage collector to trace), and once they outnumber `bound`, those
// that no longer stand for a row are dropped (see retain).

const initialCapacity = 1024;

export class ExpiryQueue {
	private slots = new Uint32Array(initialCapacity);
	private generations = new Uint32Array(initialCapacity);
	private deadlines = new Float64Array(initialCapacity);
	private head = 0;
	private tail = 0;

	/**
	 * @param isCurrent whether an entry still stands for a row (its slot holds the same
	 * generation, in the state it was queued for); the others are dropped once the queue
	 * holds more than `bound` entries.
	 */
	constructor(private readonly bound: number, private readonly isCurrent: (slot: number, generation: number) => boolean) {}

	/** Entries waiting. */
	get length(): number {
		return this.tail - this.head;
	}

	push(slot: number, generation: number, deadline: number): void {
		if (this.tail === this.slots.length) {
			this.makeRoom();
		}

		this.slots[this.tail] = slot;
		this.generations[this.tail] = generation;
		this.deadlines[this.tail] = deadline;
		this.tail++;
	}

	/** Calls expire(slot, generation) for every entry whose deadline is at or before now. */
	popExpired(now: number, expire: (slot: number, generation: number) => void): void {
		while (this.head < this.tail && this.deadlines[this.head]! <= now) {
			expire(this.slots[this.head]!, this.generations[this.head]!);
			this.head++;
		}
	}

	/** Moves the waiting entries to the front, dropping stale ones past the bound; grows if still full. */
	private makeRoom(): void {
		const prune = this.length > this.bound;
		let kept = 0;
		for (let index = this.head; index < this.tail; index++) {
			if (!prune || this.isCurrent(this.slots[index]!, this.generations[index]!)) {
				this.slots[kept] = this.slots[index]!;
				this.generations[kept] = this.generations[index]!;
				this.deadlines[kept] = this.deadlines[index]!;
				kept++;
			}
		}

		this.head = 0;
		this.tail = kept;
		if (kept * 2 > this.slots.length) {
			this.slots = grown(this.slots);
			this.generations = grown(this.generations);
			this.deadlines = grown(this.deadlines);
		}
	}
}

function grown<T extends Uint32Array | Float64Array>(array: T): T {
	const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
	bigger.set(array);
	return bigger;
}
