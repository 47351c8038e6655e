// A row of block characters for a series of counts, scaled to its own largest value.

const levels = '▁▂▃▄▅▆▇█';

/**
 * The counts squeezed into `width` characters (each the sum of its share of the counts, so no
 * event is lost when a minute is drawn in fewer than 60 characters); a character with no
 * events is a space, one with any is at least the lowest block.
 */
export function sparkline(counts: readonly number[], width: number): string {
	const cells = Math.max(0, Math.min(width, counts.length));
	const sums: number[] = [];
	for (let cell = 0; cell < cells; cell++) {
		let sum = 0;
		const end = Math.floor(((cell + 1) * counts.length) / cells);
		for (let index = Math.floor((cell * counts.length) / cells); index < end; index++) {
			sum += counts[index]!;
		}

		sums.push(sum);
	}

	const max = Math.max(0, ...sums);
	return sums.map(sum => (sum === 0 ? ' ' : levels[Math.ceil((sum / max) * levels.length) - 1])).join('');
}
