// ss from iproute2 as the independent oracle of which sockets exist, and in which state.
import {execFileSync} from 'node:child_process';
import {readFileSync} from 'node:fs';

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

/**
 * How many times the host's kernel kept no TIME_WAIT socket because its table was full
 * (TcpExt TCPTimeWaitOverflow; the table is net.ipv4.tcp_max_tw_buckets, 131,072 here). Another
 * test's full-rate load fills it, and for the minute its TIME_WAITs last no test's connection
 * that closes gets one: the kernel closes it at once, after a FIN_WAIT2 -> CLOSE like any other.
 */
export function timeWaitOverflows(): number {
	const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter(line => line.startsWith('TcpExt:'));
	const names = lines[0]?.split(/\s+/) ?? [];
	const values = lines[1]?.split(/\s+/) ?? [];
	return Number(values[names.indexOf('TCPTimeWaitOverflow')] ?? 0);
}

/**
 * Counts to hold against each other, without TIME_WAIT when the kernel kept none for a while
 * since `overflowsBefore` (see timeWaitOverflows): then neither ss nor a table that saw the
 * closes can say how many there are.
 */
export function comparableCounts(counts: ReadonlyMap<string, number>, overflowsBefore: number): Array<[string, number]> {
	const kept = new Map(counts);
	if (timeWaitOverflows() !== overflowsBefore) {
		kept.delete('TIME_WAIT');
	}

	return sortedCounts(kept);
}
