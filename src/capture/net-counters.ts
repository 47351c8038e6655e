// The kernel's TCP counters for tcptop's network namespace, from /proc/net/snmp and
// /proc/net/netstat (what `nstat` and `netstat -s` read): running totals since the namespace
// was made.
import {readFileSync} from 'node:fs';

export type NetCounters = {
	/** Connection attempts dropped because a listener's accept queue was full (TcpExt ListenOverflows). */
	readonly listenOverflows: number;
	/** Every attempt a listener dropped, overflows included (TcpExt ListenDrops). */
	readonly listenDrops: number;
	/** Segments retransmitted (Tcp RetransSegs). */
	readonly retransmits: number;
	/** SYNs and SYN-ACKs retransmitted, among them (TcpExt TCPSynRetrans). */
	readonly synRetransmits: number;
};

/** Reads the counters; undefined when a file cannot be read or lacks them. */
export function readNetCounters(directory = '/proc/net'): NetCounters | undefined {
	try {
		return parseNetCounters(readFileSync(`${directory}/snmp`, 'latin1'), readFileSync(`${directory}/netstat`, 'latin1'));
	} catch {
		return undefined;
	}
}

/** The counters from the two files' texts (each section: a line of names, then one of values). */
export function parseNetCounters(snmp: string, netstat: string): NetCounters | undefined {
	const tcp = section(snmp, 'Tcp:');
	const extended = section(netstat, 'TcpExt:');
	const listenOverflows = extended('ListenOverflows');
	const listenDrops = extended('ListenDrops');
	const retransmits = tcp('RetransSegs');
	const synRetransmits = extended('TCPSynRetrans');
	if (listenOverflows === undefined || listenDrops === undefined || retransmits === undefined || synRetransmits === undefined) {
		return undefined;
	}

	return {listenOverflows, listenDrops, retransmits, synRetransmits};
}

/** A reader of one section's counters by name; each undefined when missing or not a count. */
function section(text: string, prefix: string): (name: string) => number | undefined {
	const lines = text.split('\n').filter(line => line.startsWith(prefix));
	const names = lines[0]?.split(' ') ?? [];
	const values = lines[1]?.split(' ') ?? [];
	return name => {
		const index = names.indexOf(name);
		const value = index > 0 ? Number(values[index]) : Number.NaN;
		return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
	};
}
