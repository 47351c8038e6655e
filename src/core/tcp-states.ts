// TCP states as ss(8) names them, and ss's state groups. The filter language and the STATE
// column both speak ss, so an SRE can paste the same words into either tool.
import {TcpState} from './transition.js';

/** ss's filter names, by kernel state number. */
const filterNames: ReadonlyMap<string, number> = new Map([
	['established', TcpState.ESTABLISHED],
	['syn-sent', TcpState.SYN_SENT],
	['syn-recv', TcpState.SYN_RECV],
	['fin-wait-1', TcpState.FIN_WAIT1],
	['fin-wait-2', TcpState.FIN_WAIT2],
	['time-wait', TcpState.TIME_WAIT],
	['closed', TcpState.CLOSE],
	['close-wait', TcpState.CLOSE_WAIT],
	['last-ack', TcpState.LAST_ACK],
	['listening', TcpState.LISTEN],
	['closing', TcpState.CLOSING],
]);

/** A set of states as a bit mask (bit n = kernel state n). */
export type StateMask = number;

const allStates: StateMask = [...filterNames.values()].reduce((mask, state) => mask | (1 << state), 0);
const connected: StateMask = allStates & ~((1 << TcpState.LISTEN) | (1 << TcpState.CLOSE));
const bucket: StateMask = (1 << TcpState.SYN_RECV) | (1 << TcpState.TIME_WAIT);

const groups: ReadonlyMap<string, StateMask> = new Map([
	['all', allStates],
	['connected', connected],
	['synchronized', connected & ~(1 << TcpState.SYN_SENT)],
	['bucket', bucket],
	['big', allStates & ~bucket],
]);

export const allStatesMask = allStates;

/** The states a filter word names (a state or a group), or undefined for an unknown word. */
export function statesNamed(word: string): StateMask | undefined {
	const state = filterNames.get(word);
	return state === undefined ? groups.get(word) : 1 << state;
}

export const stateWords: readonly string[] = [...filterNames.keys(), ...groups.keys()];

// ss's column spelling ("ESTAB", "TIME-WAIT"), indexed by kernel state number.
const displayNames: readonly string[] = [
	'UNKNOWN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT',
	'CLOSED', 'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING', 'NEW-SYN-RECV',
];

export function displayStateName(state: number): string {
	return displayNames[state] ?? `UNKNOWN(${state})`;
}

/** States in the order a connection goes through them, listeners and closed ones last: the header's order. */
export const lifecycleOrder: readonly number[] = [
	TcpState.ESTABLISHED, TcpState.SYN_SENT, TcpState.SYN_RECV, TcpState.NEW_SYN_RECV, TcpState.FIN_WAIT1, TcpState.FIN_WAIT2,
	TcpState.TIME_WAIT, TcpState.CLOSE_WAIT, TcpState.LAST_ACK, TcpState.CLOSING, TcpState.LISTEN, TcpState.CLOSE,
];

/** One past the largest kernel state number: the size of per-state arrays. */
export const stateCount = displayNames.length;
