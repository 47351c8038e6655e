// Numbers in the header: thousands separated, rates with one decimal below 10.

export function formatCount(value: number): string {
	return Math.round(value).toLocaleString('en-US');
}

export function formatRate(perSecond: number): string {
	return perSecond > 0 && perSecond < 10 ? perSecond.toFixed(1) : formatCount(perSecond);
}
