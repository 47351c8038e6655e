// ss from iproute2, the independent oracle for what sockets exist and in which states.
import {execFileSync} from 'node:child_process';

// ss's state names, as the kernel spells them.
const fromSs: Record<string, string> = {
	ESTAB: 'ESTABLISHED',
	'SYN-SENT': 'SYN_SENT',
	'SYN-RECV': 'SYN_RECV',
	'FIN-WAIT-1': 'FIN_WAIT1',
	'FIN-WAIT-2': 'FIN_WAIT2',
	'TIME-WAIT': 'TIME_WAIT',
	UNCONN: 'CLOSE',
	'CLOSE-WAIT': 'CLOSE_WAIT',
	'LAST-ACK': 'LAST_ACK',
	LISTEN: 'LISTEN',
	CLOSING: 'CLOSING',
};

/** The port of ss's "address:port" ("*" for a listener's peer: 0). */
function portOf(endpoint: string): number {
	const port = endpoint.slice(endpoint.lastIndexOf(':') + 1);
	return port === '*' ? 0 : Number(port);
}

/**
 * Per-state counts of the sockets with a local or remote port in `ports` (and, if given, for
 * which `keep(lport, rport)` holds), as ss -tan sees them.
 */
export function ssCounts(ports: ReadonlySet<number>, keep: (lport: number, rport: number) => boolean = () => true): Map<string, number> {
	const counts = new Map<string, number>();
	// ss filters itself: a busy host's full list (other tests' TIME_WAITs) can be megabytes.
	const filter = [...ports].map(port => `sport = :${port} or dport = :${port}`).join(' or ');
	for (const line of execFileSync('ss', ['-tanH', `( ${filter} )`], {encoding: 'utf8'}).trim().split('\n')) {
		const [state, , , local, peer] = line.trim().split(/\s+/);
		const lport = portOf(local!);
		const rport = portOf(peer!);
		if ((ports.has(lport) || ports.has(rport)) && keep(lport, rport)) {
			const name = fromSs[state!] ?? state!;
			counts.set(name, (counts.get(name) ?? 0) + 1);
		}
	}

	return counts;
}

/** Counts as sorted [state, count] pairs, for comparing. */
export function sortedCounts(counts: Map<string, number>): Array<[string, number]> {
	return [...counts].sort(([a], [b]) => a.localeCompare(b));
}
