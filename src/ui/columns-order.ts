/** The next (step 1) or previous (step -1) column after sortKey, wrapping around. */
export function neighbourColumn(columns: ReadonlyArray<{readonly key: string}>, sortKey: string, step: 1 | -1): string {
	const index = columns.findIndex(column => column.key === sortKey);
	return columns[(index + step + columns.length) % columns.length]!.key;
}
