// One transition as a line of the event log, tcpstates-like: when, the change, who, where.
import type {Transition} from '../core/transition.js';
import {sanitize} from '../core/sanitize.js';
import {formatEndpoint} from '../core/format.js';
import {displayStateName} from '../core/tcp-states.js';
import {formatStateTime} from './connection-detail.js';
import {isFailureEdge} from './transitions-summary.js';

export type LogLine = {readonly text: string; readonly failure: boolean};

export const logTitle = `${'TIME'.padEnd(8)} ${'TRANSITION'.padEnd(25)} ${'PID'.padStart(7)} ${'COMMAND'.padEnd(15)} ${'LOCAL'.padEnd(21)} ${'REMOTE'.padEnd(21)} IN OLD STATE`;

export function logLine(t: Transition): LogLine {
	const time = new Date(t.wallMs).toTimeString().slice(0, 8);
	const change = `${displayStateName(t.oldstate)} → ${displayStateName(t.newstate)}`;
	const text = [
		time,
		change.padEnd(25),
		(t.pid === 0 ? '-' : String(t.pid)).padStart(7),
		sanitize(t.comm).slice(0, 15).padEnd(15),
		sanitize(formatEndpoint(t.laddr, t.lport)).padEnd(21),
		sanitize(formatEndpoint(t.raddr, t.rport)).padEnd(21),
		t.ms === null ? '-' : formatStateTime(t.ms),
	].join(' ');
	return {text, failure: isFailureEdge(t.oldstate, t.newstate)};
}
