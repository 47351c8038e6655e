// Everything the model keeps about one connection, as lines for the detail view (Enter):
// its fields, its owner and where the owner came from, how it ended, its counters, and its
// last transitions with the time spent in each state.
import {TcpState} from '../core/transition.js';
import {sanitize} from '../core/sanitize.js';
import {Direction, Ending, OwnerSource, type Connection} from '../model/connection.js';
import {formatBytes, formatCount, formatDuration, formatEndpoint, formatMicroseconds, formatRate} from '../core/format.js';
import {displayStateName} from '../core/tcp-states.js';
import {sparkline} from './sparkline.js';

export type DetailField = {readonly label: string; readonly value: string; readonly trouble: boolean};

export type ConnectionDetail = {
	readonly key: string;
	readonly title: string;
	readonly fields: readonly DetailField[];
	/** Oldest first; each says when it happened and how long the connection had been in its old state. */
	readonly timeline: readonly string[];
	/** The connection has left the table (closed and lingered out, or evicted): the last copy shows. */
	readonly gone: boolean;
};

const directions: Readonly<Record<Direction, string>> = {
	[Direction.unknown]: 'existing (its opening was not seen)',
	[Direction.active]: 'outgoing (connect)',
	[Direction.passive]: 'incoming (accepted from a listener)',
	[Direction.listener]: 'listening socket',
};

const ownerSources: Readonly<Record<OwnerSource, string>> = {
	[OwnerSource.none]: 'not seen yet',
	[OwnerSource.connect]: 'the process that called connect()',
	[OwnerSource.listen]: 'the process that called listen()',
	[OwnerSource.listener]: 'the owner of the listener that accepted it',
	[OwnerSource.close]: 'the process that closed it',
	[OwnerSource.snapshot]: 'a process holding it open at start-up',
	[OwnerSource.accept]: 'the process whose accept() returned it',
	[OwnerSource.holder]: 'a process holding it open (socket walk)',
};

const endings: Readonly<Record<Ending, string>> = {
	[Ending.open]: 'open',
	[Ending.fin]: 'closed in order (FIN)',
	[Ending.resetSent]: 'reset, sent by this end',
	[Ending.resetReceived]: 'reset, received from the peer',
	[Ending.refused]: 'connect refused',
	[Ending.timedOut]: 'connect timed out',
	[Ending.orphaned]: 'closed by this end; the peer has not closed (orphaned FIN-WAIT-2)',
};

/** Time in a state: sub-millisecond handshakes keep their digits. */
export function formatStateTime(ms: number): string {
	return ms < 10 ? `${ms.toFixed(2)}ms` : formatDuration(ms);
}

/** `namespaceName`: what the host calls a network namespace (ip netns's name), when known. */
export function connectionDetail(connection: Connection, nowMs: number, stuck: boolean, namespaceName?: (inode: number) => string | undefined): ConnectionDetail {
	const named = namespaceName?.(connection.netns);
	const optional = (value: number | undefined, format: (value: number) => string) => (value === undefined ? '-' : format(value));
	const ended = connection.state === TcpState.CLOSE || connection.state === TcpState.TIME_WAIT || connection.ending === Ending.orphaned;
	// Found already in its state (the snapshot, a pass): it has been in it longer than seen.
	const atLeast = connection.inStateIsLowerBound ? '>' : '';
	const fields: DetailField[] = [
		{label: 'state', value: `${displayStateName(connection.state)} for ${atLeast}${formatDuration(nowMs - connection.stateSinceMs)}`, trouble: stuck},
		{label: 'opened', value: `${directions[connection.direction]}, seen ${formatDuration(nowMs - connection.firstSeenMs)} ago`, trouble: false},
		{
			label: 'owner',
			value: connection.pid === 0 ? `- (${ownerSources[connection.ownerSource]})` : `${connection.pid} ${sanitize(connection.comm)} (${ownerSources[connection.ownerSource]})`,
			trouble: false,
		},
		{
			label: 'ending',
			value: endings[connection.ending],
			trouble: ended && connection.ending !== Ending.fin && connection.ending !== Ending.open && connection.ending !== Ending.orphaned,
		},
		{label: 'container', value: containerText(connection), trouble: false},
		{label: 'network', value: `IPv${connection.family}, namespace ${connection.netns}${named === undefined ? '' : ` (${sanitize(named)})`}`, trouble: false},
		{label: 'bytes', value: `${optional(connection.bytesAcked, formatBytes)} sent (acknowledged), ${optional(connection.bytesReceived, formatBytes)} received`, trouble: false},
		{label: 'rates', value: `TX ${optional(connection.txBytesPerSec, formatBytes)}/s, RX ${optional(connection.rxBytesPerSec, formatBytes)}/s`, trouble: false},
		{
			label: 'RTT',
			value: `${optional(connection.srttUs, formatMicroseconds)}, ${optional(connection.retransmits, String)} retransmits${connection.retransmitsPerSec ? ` (${formatRate(connection.retransmitsPerSec)}/s lately)` : ''}`,
			trouble: (connection.retransmitsPerSec ?? 0) > 0,
		},
		{label: 'drops', value: dropsText(connection), trouble: (connection.dropsPerSec ?? 0) > 0},
		{label: 'transitions', value: `${connection.transitionCount} seen`, trouble: false},
		...queueFields(connection.queue),
	];
	return {
		key: connection.key,
		title: sanitize(`${formatEndpoint(connection.laddr, connection.lport)} → ${formatEndpoint(connection.raddr, connection.rport)}`),
		fields,
		timeline: timeline(connection, nowMs),
		gone: false,
	};
}

/** Packets the kernel dropped for a connection: how many, how fast lately, the last one's reason. */
function dropsText(connection: Connection): string {
	const {drops, dropsPerSec} = connection;
	if (!drops) {
		return drops === 0 ? 'none' : '-';
	}

	return `${formatCount(drops)} packets dropped${dropsPerSec ? ` (${formatRate(dropsPerSec)}/s lately)` : ''}, the last ${sanitize(connection.dropReason)}`;
}

/** A listener's queues and drops (ss -lnt's Recv-Q and Send-Q, and skmem's drops). */
function queueFields(queue: Connection['queue']): DetailField[] {
	if (queue === undefined) {
		return [];
	}

	const {acceptQueue, acceptBacklog, synQueue, drops, dropsPerSec, full, synAckRetransmits, dropsHistory} = queue;
	return [
		{label: 'queue', value: `${acceptQueue} waiting for accept() of a backlog of ${acceptBacklog}${full ? ' (full)' : ''}, ${synQueue} handshaking`, trouble: full},
		{label: 'dropped', value: `${formatCount(drops)} connection attempts since tcptop started, ${formatRate(dropsPerSec)}/s lately`, trouble: dropsPerSec > 0},
		// The drops between the walks of the last minute, a character a walk, when there were any.
		...(dropsHistory.some(count => count > 0)
			? [{label: 'drop history', value: `▕${sparkline(dropsHistory, dropsHistory.length)}▏ the last ${dropsHistory.length} walks, oldest first`, trouble: false}]
			: []),
		...(synAckRetransmits === undefined ? [] : [{label: 'SYN-ACKs', value: `${formatCount(synAckRetransmits)} retransmitted since tcptop started (clients' ACKs that did not come)`, trouble: false}]),
	];
}

/**
 * The kept transitions, oldest first. The model keeps each transition's time in its old state,
 * so their times are found backwards from when the current state began, as far as those are known.
 */
function timeline(connection: Connection, nowMs: number): string[] {
	const history = connection.history;
	const times: Array<number | undefined> = [];
	let at: number | undefined = connection.stateSinceMs;
	for (let index = history.length - 1; index >= 0; index--) {
		times[index] = at;
		const ms = history[index]!.ms;
		at = at === undefined || ms === null ? undefined : at - ms;
	}

	const lines: string[] = [];
	const earlier = connection.transitionCount - history.length;
	if (earlier > 0) {
		lines.push(`(${earlier} earlier not kept)`);
	}

	for (const [index, entry] of history.entries()) {
		const when = times[index] === undefined ? '?' : `${formatDuration(nowMs - times[index])} ago`;
		const stay = entry.ms === null ? '' : `after ${formatStateTime(entry.ms)} in ${displayStateName(entry.from)}`;
		lines.push(`${when.padStart(10)}  ${`${displayStateName(entry.from)} → ${displayStateName(entry.to)}`.padEnd(26)} ${stay}`.trimEnd());
	}

	lines.push(`${'now'.padStart(10)}  ${displayStateName(connection.state).padEnd(26)} for ${connection.inStateIsLowerBound ? '>' : ''}${formatStateTime(nowMs - connection.stateSinceMs)}`);
	return lines;
}

/** The owner's container (or unit), pod and control group, as far as known. */
function containerText(connection: Connection): string {
	if (connection.cgroup === '') {
		return '- (no control group known for the owner)';
	}

	const who = [connection.container || '-', ...(connection.pod === '' ? [] : [`pod ${connection.pod}`])].join(', ');
	return `${sanitize(who)} (cgroup ${sanitize(connection.cgroup)})`;
}
