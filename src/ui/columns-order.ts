/**
 * The next (step 1) or previous (step -1) column after sortKey, wrapping around, among those
 * on screen when `shown` says which are (as top's < and >: a column the width left out is
 * passed over). A sort column not on screen steps from its place in the full order.
 */
export function neighbourColumn(columns: ReadonlyArray<{readonly key: string}>, sortKey: string, step: 1 | -1, shown?: ReadonlySet<string>): string {
	const index = columns.findIndex(column => column.key === sortKey);
	for (let moved = 1; moved <= columns.length; moved++) {
		const column = columns[(((index + moved * step) % columns.length) + columns.length) % columns.length]!;
		if (shown === undefined || shown.has(column.key)) {
			return column.key;
		}
	}

	return sortKey;
}
