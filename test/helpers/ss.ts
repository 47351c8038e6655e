// ss from iproute2 as the independent oracle of which sockets exist, and in which state.
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

export function portOf(endpoint: string): number {
	return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/** Per-state counts (kernel state names) of the sockets with a local or remote port in `ports`, as ss -tan sees them. */
export function ssCounts(ports: ReadonlySet<number>): Map<string, number> {
	const counts = new Map<string, number>();
	// ss filters itself: a busy host's full list (other tests' TIME_WAITs) can be megabytes.
	const filter = [...ports].map(port => `sport = :${port} or dport = :${port}`).join(' or ');
	for (const line of execFileSync('ss', ['-tanH', `( ${filter} )`], {encoding: 'utf8'}).trim().split('\n')) {
		const [state, , , local, peer] = line.trim().split(/\s+/);
		if (ports.has(portOf(local!)) || ports.has(portOf(peer!))) {
			const name = fromSs[state!] ?? state!;
			counts.set(name, (counts.get(name) ?? 0) + 1);
		}
	}

	return counts;
}

/** Counts in a stable order, for deepEqual. */
export function sorted(counts: ReadonlyMap<string, number>): Array<[string, number]> {
	return [...counts].sort(([a], [b]) => a.localeCompare(b));
}
