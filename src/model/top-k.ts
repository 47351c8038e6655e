// Picking the rows to show: the k first items of an order, without sorting everything.
// Candidates go into a buffer of a few k; when it fills, a quickselect keeps its k first and
// the k-th becomes the bar later items must pass. Most items cost one comparison with the bar,
// and even items that arrive in exactly the wrong order (each better than all before it) cost
// a few comparisons each, where a heap of k would sift every one of them in (~2 log2 k).

/** Collects the k ids that come first by `before`, a strict total order of ids. */
export class TopK {
	private buffer: number[] = [];
	/** The k-th best id kept so far, once k are kept: an id must come before it to matter. */
	private bar: number | undefined;
	private readonly capacity: number;

	constructor(private readonly k: number, private readonly before: (a: number, b: number) => boolean) {
		this.capacity = (4 * k) + 64;
	}

	/** The k-th best id kept so far, once k are kept: an id that does not come before it is not kept. */
	get last(): number | undefined {
		return this.bar;
	}

	offer(id: number): void {
		if (this.k <= 0 || (this.bar !== undefined && !this.before(id, this.bar))) {
			return;
		}

		this.buffer.push(id);
		if (this.buffer.length >= this.capacity) {
			this.keepFirst();
		}
	}

	/** The collected ids, first first. */
	sorted(): number[] {
		return this.buffer.sort((a, b) => (this.before(a, b) ? -1 : (this.before(b, a) ? 1 : 0))).slice(0, this.k);
	}

	/** Keeps the buffer's k first (in no order) and sets the bar to the last of them. */
	private keepFirst(): void {
		const {buffer, k, before} = this;
		let low = 0;
		let high = buffer.length - 1;
		while (low < high) {
			// Median of three as the pivot, then Hoare's partition.
			const middle = (low + high) >> 1;
			if (before(buffer[high]!, buffer[low]!)) {
				swap(buffer, low, high);
			}

			if (before(buffer[middle]!, buffer[low]!)) {
				swap(buffer, middle, low);
			}

			if (before(buffer[high]!, buffer[middle]!)) {
				swap(buffer, middle, high);
			}

			const pivot = buffer[middle]!;
			let i = low;
			let j = high;
			while (i <= j) {
				while (before(buffer[i]!, pivot)) {
					i++;
				}

				while (before(pivot, buffer[j]!)) {
					j--;
				}

				if (i <= j) {
					swap(buffer, i, j);
					i++;
					j--;
				}
			}

			if (k - 1 <= j) {
				high = j;
			} else if (k - 1 >= i) {
				low = i;
			} else {
				break;
			}
		}

		buffer.length = k;
		let last = buffer[0]!;
		for (const id of buffer) {
			if (before(last, id)) {
				last = id;
			}
		}

		this.bar = last;
	}
}

function swap(items: number[], a: number, b: number): void {
	const item = items[a]!;
	items[a] = items[b]!;
	items[b] = item;
}
