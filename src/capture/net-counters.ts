// The kernel's TCP counters for a network namespace, from /proc/net/snmp and /proc/net/netstat
// (what `nstat` and `netstat -s` read): running totals since the namespace was made. /proc/net
// is tcptop's own namespace's; /proc/PID/net that of the namespace process PID is in.
import {readFileSync, statSync} from 'node:fs';
import type {NetCounters} from '../core/source.js';
import {inNetNamespace, processInNetNamespace} from './net-namespaces.js';


/** Reads the counters; undefined when a file cannot be read or lacks them. */
export function readNetCounters(directory = '/proc/net'): NetCounters | undefined {
	try {
		return parseNetCounters(readFileSync(`${directory}/snmp`, 'latin1'), readFileSync(`${directory}/netstat`, 'latin1'));
	} catch {
		return undefined;
	}
}

/** How long a namespace without a process found in it waits before /proc is searched again. */
const searchAgainMs = 5000;

/**
 * Reads the counters of the network namespace of this inode: tcptop's own through /proc/net,
 * another through a process in it (/proc/PID/net), kept while it stays there; undefined while
 * no process is in it (a namespace only `ip netns` holds), or /proc cannot say.
 */
export function netCountersOf(inode: number, now = () => performance.now()): () => NetCounters | undefined {
	let own: boolean | undefined;
	let pid: string | undefined;
	let searchedAtMs = Number.NEGATIVE_INFINITY;
	return () => {
		own ??= statSync('/proc/self/ns/net').ino === inode;
		if (own) {
			return readNetCounters();
		}

		if (pid === undefined || !inNetNamespace(pid, inode)) {
			pid = undefined;
			if (now() - searchedAtMs < searchAgainMs) {
				return undefined;
			}

			searchedAtMs = now();
			pid = processInNetNamespace(inode);
		}

		return pid === undefined ? undefined : readNetCounters(`/proc/${pid}/net`);
	};
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
