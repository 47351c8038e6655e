// `tcptop trace` output: tcpstates-style text lines, or NDJSON.
import {stateName, type SocketIncident, type Transition} from '../core/transition.js';
import {jsonLine, sanitize} from '../core/sanitize.js';

export type TraceFormat = 'text' | 'json';

/** The JSON form of a transition; field names are part of tcptop's output contract. */
export function transitionJson(t: Transition) {
	return {
		time: new Date(t.wallMs).toISOString(),
		pid: t.pid,
		tid: t.tid,
		comm: t.comm,
		family: t.family,
		laddr: t.laddr,
		lport: t.lport,
		raddr: t.raddr,
		rport: t.rport,
		oldstate: stateName(t.oldstate),
		newstate: stateName(t.newstate),
		ms: t.ms === null ? null : Math.round(t.ms * 1000) / 1000,
		netns: t.netns,
	};
}

/** The JSON form of a retransmit or a drop (trace --events): "event" says which. */
export function incidentJson(i: SocketIncident) {
	return {
		event: i.kind,
		time: new Date(i.wallMs).toISOString(),
		pid: i.pid,
		tid: i.tid,
		comm: i.comm,
		family: i.family,
		laddr: i.laddr,
		lport: i.lport,
		raddr: i.raddr,
		rport: i.rport,
		state: stateName(i.state),
		...(i.kind === 'drop' ? {reason: i.reason} : {}),
		netns: i.netns,
	};
}

/** Column layout of the text form; addresses get room for IPv6 when only IPv6 is traced. */
export class TextLayout {
	readonly #addressWidth: number;

	constructor(options: {ipv6Only?: boolean} = {}) {
		this.#addressWidth = options.ipv6Only ? 39 : 15;
	}

	header(): string {
		const w = this.#addressWidth;
		return `${'TIME'.padEnd(8)} ${'PID'.padEnd(7)} ${'COMM'.padEnd(16)} ${'LADDR'.padEnd(w)} ${'LPORT'.padEnd(5)} ${'RADDR'.padEnd(w)} ${'RPORT'.padEnd(5)} ${'OLDSTATE'.padEnd(11)} -> ${'NEWSTATE'.padEnd(11)} MS`;
	}

	line(t: Transition): string {
		const ms = t.ms === null ? '-' : t.ms.toFixed(3);
		return `${this.#socket(t)} ${stateName(t.oldstate).padEnd(11)} -> ${stateName(t.newstate).padEnd(11)} ${ms}`;
	}

	/** A retransmit or a drop, in the columns of a change: its state, then what happened. */
	incidentLine(i: SocketIncident): string {
		return `${this.#socket(i)} ${stateName(i.state).padEnd(11)} !! ${i.kind === 'drop' ? `DROP ${sanitize(i.reason)}` : 'RETRANSMIT'}`;
	}

	#socket(e: Transition | SocketIncident): string {
		const w = this.#addressWidth;
		const time = new Date(e.wallMs).toTimeString().slice(0, 8);
		return `${time} ${String(e.pid).padEnd(7)} ${sanitize(e.comm).padEnd(16)} ${sanitize(e.laddr).padEnd(w)} ${String(e.lport).padEnd(5)} ${sanitize(e.raddr).padEnd(w)} ${String(e.rport).padEnd(5)}`;
	}
}

/**
 * Formats a whole batch into one string, so it reaches stdout in one write: the changes, and
 * the retransmits and drops among them in time order.
 */
export function formatBatch(transitions: readonly Transition[], format: TraceFormat, layout: TextLayout, incidents: readonly SocketIncident[] = []): string {
	let out = '';
	let next = 0;
	const incidentsUntil = (monoMs: number) => {
		for (; next < incidents.length && incidents[next]!.monoMs <= monoMs; next++) {
			const i = incidents[next]!;
			out += (format === 'json' ? jsonLine(incidentJson(i)) : layout.incidentLine(i)) + '\n';
		}
	};

	for (const t of transitions) {
		incidentsUntil(t.monoMs);
		out += (format === 'json' ? jsonLine(transitionJson(t)) : layout.line(t)) + '\n';
	}

	incidentsUntil(Number.POSITIVE_INFINITY);
	return out;
}
