// `tcptop trace` output: tcpstates-style text lines, or NDJSON.
import {stateName, type Transition} from '../capture/transition.js';
import {jsonLine, sanitize} from './sanitize.js';

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
		const w = this.#addressWidth;
		const time = new Date(t.wallMs).toTimeString().slice(0, 8);
		const ms = t.ms === null ? '-' : t.ms.toFixed(3);
		return `${time} ${String(t.pid).padEnd(7)} ${sanitize(t.comm).padEnd(16)} ${sanitize(t.laddr).padEnd(w)} ${String(t.lport).padEnd(5)} ${sanitize(t.raddr).padEnd(w)} ${String(t.rport).padEnd(5)} ${stateName(t.oldstate).padEnd(11)} -> ${stateName(t.newstate).padEnd(11)} ${ms}`;
	}
}

/** Formats a whole batch into one string, so it reaches stdout in one write. */
export function formatBatch(transitions: readonly Transition[], format: TraceFormat, layout: TextLayout): string {
	let out = '';
	for (const t of transitions) {
		out += (format === 'json' ? jsonLine(transitionJson(t)) : layout.line(t)) + '\n';
	}

	return out;
}
