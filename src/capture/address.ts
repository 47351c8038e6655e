// Address formatting from raw network-order bytes, done only when a string is asked for.

export function formatIPv4(bytes: Uint8Array, offset: number): string {
	return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 text: lower case, longest run of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIPv6(bytes: Uint8Array, offset: number): string {
	const groups: number[] = [];
	for (let i = 0; i < 16; i += 2) {
		groups.push((bytes[offset + i]! << 8) | bytes[offset + i + 1]!);
	}

	if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xff_ff) {
		return `::ffff:${formatIPv4(bytes, offset + 12)}`;
	}

	// The longest run of two or more zero groups (the first one on a tie) becomes "::".
	let bestStart = -1;
	let bestLength = 1;
	for (let i = 0; i < 8;) {
		if (groups[i] !== 0) {
			i++;
			continue;
		}

		let end = i;
		while (end < 8 && groups[end] === 0) {
			end++;
		}

		if (end - i > bestLength) {
			bestStart = i;
			bestLength = end - i;
		}

		i = end;
	}

	const hex = (from: number, to: number) => groups.slice(from, to).map(group => group.toString(16)).join(':');
	if (bestStart < 0) {
		return hex(0, 8);
	}

	return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
