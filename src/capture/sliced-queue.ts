// Work handed over faster than it can be done, done in slices: at most sliceMs of it in one go,
// then the event loop's turn (timers, keys, I/O, further deliveries), then the next slice. So a
// backlog of batches from the kernel never holds up a frame, a key or a print for longer than
// a slice. An item whose work is long (a socket pass of 100,000 sockets) is done in shares
// (Unfinished), the items behind it waiting until it is all done.
import type {Unfinished} from '../core/source.js';

export class SlicedQueue<T> {
	readonly #work: (item: T) => Unfinished | void;
	readonly #sliceMs: number;
	/** What is left of the item under way. */
	#unfinished: Unfinished | undefined;
	#items: T[] = [];
	#head = 0;
	#scheduled = false;
	#emptied: Array<() => void> = [];

	constructor(work: (item: T) => Unfinished | void, sliceMs: number) {
		this.#work = work;
		this.#sliceMs = sliceMs;
	}

	/** Items waiting, the one under way included. */
	get length(): number {
		return this.#items.length - this.#head + (this.#unfinished ? 1 : 0);
	}

	push(item: T): void {
		this.#items.push(item);
		if (!this.#scheduled) {
			this.#scheduled = true;
			setImmediate(this.#run);
		}
	}

	/** Forgets what waits. */
	clear(): void {
		this.#unfinished = undefined;
		this.#items = [];
		this.#head = 0;
		this.#settle();
	}

	/** Resolves once nothing waits. */
	async emptied(): Promise<void> {
		if (this.length === 0) {
			return;
		}

		await new Promise<void>(resolve => {
			this.#emptied.push(resolve);
		});
	}

	readonly #run = (): void => {
		this.#scheduled = false;
		const endMs = performance.now() + this.#sliceMs;
		for (;;) {
			if (this.#unfinished) {
				if (this.#unfinished()) {
					this.#unfinished = undefined;
				}
			} else if (this.#head < this.#items.length) {
				const item = this.#items[this.#head]!;
				this.#items[this.#head++] = undefined as T;
				this.#unfinished = this.#work(item) ?? undefined;
			} else {
				break;
			}

			if (performance.now() >= endMs) {
				break;
			}
		}

		if (this.length > 0) {
			// A queue that never empties (a load beyond what tcptop can decode) drops its done
			// prefix now and then, so the array does not grow with every item ever queued.
			if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
				this.#items = this.#items.slice(this.#head);
				this.#head = 0;
			}

			this.#scheduled = true;
			setImmediate(this.#run);
		} else {
			this.#settle();
		}
	};

	#settle(): void {
		if (this.length > 0) {
			return;
		}

		this.#items = [];
		this.#head = 0;
		for (const resolve of this.#emptied.splice(0)) {
			resolve();
		}
	}
}
