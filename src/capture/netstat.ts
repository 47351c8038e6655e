// The kernel's listen counters for tcptop's network namespace, from /proc/net/netstat (what
// `nstat` and `netstat -s` read): connection attempts listeners dropped since boot.
import {readFileSync} from 'node:fs';

/** Running totals since the namespace was made. */
export type ListenCounts = {
	/** Attempts dropped because a listener's accept queue was full (ListenOverflows). */
	readonly overflows: number;
	/** Every attempt a listener dropped, overflows included (ListenDrops). */
	readonly drops: number;
};

/** Reads the counters; undefined when the file cannot be read or lacks them. */
export function readListenCounts(path = '/proc/net/netstat'): ListenCounts | undefined {
	let text: string;
	try {
		text = readFileSync(path, 'latin1');
	} catch {
		return undefined;
	}

	return parseListenCounts(text);
}

/** The TcpExt section's ListenOverflows and ListenDrops: a line of names, then one of values. */
export function parseListenCounts(text: string): ListenCounts | undefined {
	const lines = text.split('\n').filter(line => line.startsWith('TcpExt:'));
	if (lines.length < 2) {
		return undefined;
	}

	const names = lines[0]!.split(' ');
	const values = lines[1]!.split(' ');
	const read = (name: string) => {
		const index = names.indexOf(name);
		const value = index > 0 ? Number(values[index]) : Number.NaN;
		return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
	};

	const overflows = read('ListenOverflows');
	const drops = read('ListenDrops');
	return overflows === undefined || drops === undefined ? undefined : {overflows, drops};
}
