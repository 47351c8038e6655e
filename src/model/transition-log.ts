// The most recent transitions, for the event log: a ring of the last `capacity`, kept by
// reference. A decoded transition keeps its batch's block alive, but the ring holds only the
// newest ones, which come from the last few batches, so it never holds more than about
// `capacity` records plus one batch.
import type {Transition} from '../core/transition.js';

export class TransitionLog {
	private readonly ring: Array<Transition | undefined>;
	private next = 0;

	constructor(readonly capacity = 1000) {
		this.ring = new Array<Transition | undefined>(capacity);
	}

	/** Adds a batch in time order; only its last `capacity` can stay, so only those are stored. */
	push(transitions: readonly Transition[]): void {
		for (let index = Math.max(0, transitions.length - this.capacity); index < transitions.length; index++) {
			this.ring[this.next] = transitions[index];
			this.next = (this.next + 1) % this.capacity;
		}
	}

	/** Up to `limit` transitions that pass `match`, newest first. */
	recent(limit: number, match?: (transition: Transition) => boolean): Transition[] {
		const found: Transition[] = [];
		for (let step = 1; step <= this.capacity && found.length < limit; step++) {
			const transition = this.ring[(this.next - step + this.capacity) % this.capacity];
			if (transition === undefined) {
				break;
			}

			if (match === undefined || match(transition)) {
				found.push(transition);
			}
		}

		return found;
	}
}
