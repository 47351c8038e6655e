// Tests that load the real BPF program. They need root (or CAP_BPF + CAP_PERFMON); where
// that is missing they are skipped with the reason printed, except under CI=true, where
// they always run (and fail if the program cannot load).
import {readFileSync} from 'node:fs';
import test, {type ExecutionContext} from 'ava';
import {KernelSource, type KernelSourceOptions} from '../../src/capture/kernel-source.js';
import {stateName, TcpState, type Accepted, type Reset, type Transition} from '../../src/core/transition.js';

const capSysAdmin = 21n;
const capPerfmon = 38n;
const capBpf = 39n;

function whyBpfCannotLoad(): string | undefined {
	const status = readFileSync('/proc/self/status', 'utf8');
	const effective = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
	const has = (cap: bigint) => (effective & (1n << cap)) !== 0n;
	if (has(capSysAdmin) || (has(capBpf) && has(capPerfmon))) {
		return undefined;
	}

	return 'loading BPF needs root or CAP_BPF + CAP_PERFMON, and this process has neither';
}

const reason = process.env.CI === 'true' ? undefined : whyBpfCannotLoad();
if (reason) {
	console.warn(`Skipping the kernel tests of this file: ${reason}.`);
}

export const kernelTest = reason ? test.skip : test;
export {tracesDrops} from './kernel-version.js';
export const kernelTestSerial = reason ? test.serial.skip : test.serial;

export type Capture = {
	transitions: Transition[];
	resets: Reset[];
	accepted: Accepted[];
	dropped: number;
	lost: number;
};

/**
 * Runs `action` while the real program captures; returns what arrived once it has stopped.
 * With `complete`, it waits (up to 3 s) until what arrived satisfies it before stopping: on a
 * loaded machine the last ACKs of a close can be handled well after the sockets report closed.
 */
export async function captureDuring(options: KernelSourceOptions, action: () => void | Promise<void>, complete?: (capture: Capture) => boolean): Promise<Capture> {
	const source = new KernelSource(options);
	const capture: Capture = {transitions: [], resets: [], accepted: [], dropped: 0, lost: 0};
	let failure: Error | undefined;
	source.start({
		batch(batch) {
			capture.transitions.push(...batch.transitions);
			capture.resets.push(...batch.resets);
			capture.accepted.push(...batch.accepted);
			capture.dropped = batch.dropped;
			capture.lost = batch.lost;
		},
		error(error) {
			failure = error;
		},
	});
	try {
		await action();
		// Softirq-side transitions (the last ACK of a close) land just after the sockets report closed.
		await new Promise(resolve => setTimeout(resolve, 100));
		for (let waited = 0; complete && !complete(capture) && waited < 3000; waited += 50) {
			await new Promise(resolve => setTimeout(resolve, 50));
		}
	} finally {
		await source.stop();
	}

	if (failure) {
		throw failure;
	}

	return capture;
}

/** The transitions touching `port` on either end, grouped by socket in time order. */
export function bySocket(transitions: readonly Transition[], port: number): Map<number, Transition[]> {
	const sockets = new Map<number, Transition[]>();
	for (const t of transitions) {
		if (t.lport !== port && t.rport !== port) {
			continue;
		}

		const list = sockets.get(t.sock) ?? [];
		list.push(t);
		sockets.set(t.sock, list);
	}

	return sockets;
}

export function edges(transitions: readonly Transition[]): string[] {
	return transitions.map(t => `${stateName(t.oldstate)}->${stateName(t.newstate)}`);
}

/** A socket's record that does not start from the state its previous record ended in. */
export type StateGap = {readonly gap: string; readonly record: Transition};

/**
 * The gaps in each socket's records: `gap` is `from->to`, the state tcptop last saw and the
 * state the kernel says the socket left. A record from CLOSE or LISTEN starts a new socket
 * (addresses are reused once a socket is freed).
 */
export function stateGaps(transitions: readonly Transition[]): StateGap[] {
	const last = new Map<number, number>();
	const gaps: StateGap[] = [];
	for (const record of [...transitions].sort((a, b) => a.monoMs - b.monoMs)) {
		const before = last.get(record.sock);
		if (before !== undefined && before !== record.oldstate && record.oldstate !== TcpState.CLOSE && record.oldstate !== TcpState.LISTEN) {
			gaps.push({gap: `${stateName(before)}->${stateName(record.oldstate)}`, record});
		}

		last.set(record.sock, record.newstate);
	}

	return gaps;
}

export function assertSameTupleThroughout(t: ExecutionContext, transitions: readonly Transition[], expected: Pick<Transition, 'laddr' | 'lport' | 'raddr' | 'rport'>) {
	for (const transition of transitions) {
		t.like(transition, expected);
	}
}
