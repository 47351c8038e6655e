// Slots due to leave the table at a deadline, in deadline order.
//
// Every entry in one queue waits the same time (linger, or TIME_WAIT's 60 s) from the moment it
// was queued, so pushing in time order keeps the queue sorted and expiring is popping the front:
// no timer per connection and no scan of the table.

export class ExpiryQueue {
	private slots: number[] = [];
	private generations: number[] = [];
	private deadlines: number[] = [];
	private head = 0;

	push(slot: number, generation: number, deadline: number): void {
		this.slots.push(slot);
		this.generations.push(generation);
		this.deadlines.push(deadline);
	}

	/** Calls expire(slot, generation) for every entry whose deadline is at or before now. */
	popExpired(now: number, expire: (slot: number, generation: number) => void): void {
		while (this.head < this.slots.length && this.deadlines[this.head]! <= now) {
			expire(this.slots[this.head]!, this.generations[this.head]!);
			this.head++;
		}

		// Drop the consumed prefix once it dominates, so the arrays do not grow forever.
		if (this.head > 1024 && this.head * 2 > this.slots.length) {
			this.slots = this.slots.slice(this.head);
			this.generations = this.generations.slice(this.head);
			this.deadlines = this.deadlines.slice(this.head);
			this.head = 0;
		}
	}
}
