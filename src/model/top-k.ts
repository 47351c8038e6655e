// Picking the rows to show: the k first items of an order, without sorting everything. A heap
// of k keeps the worst of the best at its root, so n items cost O(n log k) comparisons, not
// O(n log n) — for 50 rows of 100,000 connections a fraction of a full sort, every frame.

/** Collects the k ids that come first by `before`, an ordering of ids. */
export class TopK {
	private readonly heap: number[] = [];

	constructor(private readonly k: number, private readonly before: (a: number, b: number) => boolean) {}

	offer(id: number): void {
		const {heap} = this;
		if (heap.length < this.k) {
			heap.push(id);
			this.siftUp(heap.length - 1);
		} else if (this.k > 0 && this.before(id, heap[0]!)) {
			heap[0] = id;
			this.siftDown(0);
		}
	}

	/** The collected ids, first first. */
	sorted(): number[] {
		return [...this.heap].sort((a, b) => (this.before(a, b) ? -1 : (this.before(b, a) ? 1 : 0)));
	}

	// The root is the id that comes last: a parent never comes before its children.
	private siftUp(index: number): void {
		const {heap} = this;
		while (index > 0) {
			const parent = (index - 1) >> 1;
			if (!this.before(heap[parent]!, heap[index]!)) {
				return;
			}

			[heap[parent], heap[index]] = [heap[index]!, heap[parent]!];
			index = parent;
		}
	}

	private siftDown(index: number): void {
		const {heap} = this;
		for (;;) {
			let last = index;
			for (const child of [(2 * index) + 1, (2 * index) + 2]) {
				if (child < heap.length && this.before(heap[last]!, heap[child]!)) {
					last = child;
				}
			}

			if (last === index) {
				return;
			}

			[heap[last], heap[index]] = [heap[index]!, heap[last]!];
			index = last;
		}
	}
}
