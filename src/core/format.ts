// Compact, fixed-width-friendly renderings of durations, sizes and endpoints, top-style.

/** "850ms", "4.2s", "37s", "12m05s", "3h07m", "2d04h". */
export function formatDuration(ms: number): string {
	if (ms < 1000) {
		return `${Math.max(0, Math.floor(ms))}ms`;
	}

	const seconds = Math.floor(ms / 1000);
	if (seconds < 10) {
		return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
	}

	if (seconds < 60) {
		return `${seconds}s`;
	}

	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) {
		return `${minutes}m${pad(seconds % 60)}s`;
	}

	const hours = Math.floor(minutes / 60);
	if (hours < 24) {
		return `${hours}h${pad(minutes % 60)}m`;
	}

	return `${Math.floor(hours / 24)}d${pad(hours % 24)}h`;
}

const units = ['', 'K', 'M', 'G', 'T'];

/** Bytes with a binary-prefix unit, at most four characters: "512", "1.5K", "34M". */
export function formatBytes(bytes: number): string {
	let value = bytes;
	let unit = 0;
	while (value >= 1000 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}

	const digits = unit > 0 && value < 10 ? value.toFixed(1) : String(Math.round(value));
	return `${digits}${units[unit]}`;
}

/** A smoothed RTT given in microseconds: "85us", "0.35ms", "12ms", "1.2s". */
export function formatMicroseconds(us: number): string {
	if (us < 100) {
		return `${us}us`;
	}

	if (us < 10_000) {
		return `${(us / 1000).toFixed(2)}ms`;
	}

	if (us < 1_000_000) {
		return `${Math.round(us / 1000)}ms`;
	}

	return `${(us / 1_000_000).toFixed(1)}s`;
}

/** "10.0.0.1:443", "[::1]:8080"; port 0 (not chosen yet, or a listener's peer) shows as "*". */
export function formatEndpoint(address: string, port: number): string {
	const host = address.includes(':') ? `[${address}]` : address;
	return `${host}:${port === 0 ? '*' : port}`;
}

function pad(value: number): string {
	return value < 10 ? `0${value}` : String(value);
}

/** A rate in a narrow column: "0", "2.5", "340", "12.4K". */
export function formatPerSecond(value: number): string {
	if (value === 0) {
		return '0';
	}

	if (value < 10) {
		return value.toFixed(1);
	}

	return value < 10_000 ? String(Math.round(value)) : `${(value / 1000).toFixed(value < 100_000 ? 1 : 0)}K`;
}

// Numbers in the header: thousands separated, rates with one decimal below 10. By hand, as
// toLocaleString('en-US') would: that loads ICU's number formatting on its first call (7 ms of
// the view's first frame) and costs a formatter lookup on every call.
export function formatCount(value: number): string {
	const rounded = Math.round(value);
	const digits = String(Math.abs(rounded));
	if (digits.length <= 3 || !Number.isFinite(rounded)) {
		return String(rounded);
	}

	let grouped = digits.slice(0, ((digits.length - 1) % 3) + 1);
	for (let at = grouped.length; at < digits.length; at += 3) {
		grouped += `,${digits.slice(at, at + 3)}`;
	}

	return rounded < 0 ? `-${grouped}` : grouped;
}

export function formatRate(perSecond: number): string {
	return perSecond > 0 && perSecond < 10 ? perSecond.toFixed(1) : formatCount(perSecond);
}
