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

/** An endpoint's port; 0 for a listener's `*`. */
export function portOf(endpoint: string): number {
	const port = endpoint.slice(endpoint.lastIndexOf(':') + 1);
	return port === '*' ? 0 : Number(port);
}

/** An endpoint's address, without IPv6's brackets. */
function addressOf(endpoint: string): string {
	return endpoint.slice(0, endpoint.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
}

/** ss -tan's lines in a namespace `ip netns` named: [kernel state name, local, peer] each. */
function ssIn(namespace: string): Array<[string, string, string]> {
	return execFileSync('ip', ['netns', 'exec', namespace, 'ss', '-tanH'], {encoding: 'utf8'}).split('\n').filter(Boolean).map(line => {
		const [state, , , local, peer] = line.trim().split(/\s+/);
		return [fromSs[state!] ?? state!, local!, peer!];
	});
}

/** Per-state counts (kernel state names) of every socket ss -tan lists in a namespace. */
export function ssStatesIn(namespace: string): Record<string, number> {
	const counts: Record<string, number> = {};
	for (const [state] of ssIn(namespace)) {
		counts[state] = (counts[state] ?? 0) + 1;
	}

	return counts;
}

/** Every socket ss -tan lists in a namespace, as `STATE laddr:lport raddr:rport` (a listener's peer port 0), sorted. */
export function ssSocketsIn(namespace: string): string[] {
	return ssIn(namespace).map(([state, local, peer]) =>
		`${state} ${addressOf(local)}:${portOf(local)} ${addressOf(peer)}:${portOf(peer)}`).sort();
}

/**
 * Per-state counts (kernel state names) of the sockets with a local or remote port in
 * `ports`, as ss -tan sees them; only those `keep` keeps, when given.
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

/**
 * The local ports of the sockets ss lists in `state` (ss's filter name: syn-sent, fin-wait-2)
 * towards remote port `rport`, polled until there are at least `atLeast` or `timeoutMs` passed.
 */
export async function ssLocalPortsInState(state: string, rport: number, atLeast: number, timeoutMs: number): Promise<number[]> {
	let ports: number[] = [];
	for (let waited = 0; ports.length < atLeast && waited < timeoutMs; waited += 50) {
		await new Promise(resolve => setTimeout(resolve, 50));
		ports = execFileSync('ss', ['-tanH', 'state', state, 'dport', '=', `:${rport}`], {encoding: 'utf8'})
			.split('\n').filter(Boolean).map(line => portOf(line.trim().split(/\s+/)[2]!));
	}

	return ports;
}

/** Counts as sorted [state, count] pairs, for deepEqual. */
export function sortedCounts(counts: ReadonlyMap<string, number>): Array<[string, number]> {
	return [...counts].sort(([a], [b]) => a.localeCompare(b));
}
