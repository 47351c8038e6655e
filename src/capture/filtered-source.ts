// trace's filters (-4/-6, --lport, --rport, --pid) and --netns applied in JavaScript, for a source that has
// no kernel to compile them into: a replay. They mean what bpf/tcptop.bpf.c makes them mean.
// A recording holds only what its own filters let through, and the pid filter follows a socket
// from its first recorded change, so a replay filters best a recording made without filters.
import type {NativeCaptureOptions} from './addon.js';
import type {SocketPass, SourceHandlers, TransitionBatch, TransitionSource} from '../core/source.js';
import {TcpState, type SocketEvent, type Transition} from '../core/transition.js';

export type CaptureFilter = Pick<NativeCaptureOptions, 'family' | 'pid' | 'localPorts' | 'remotePorts' | 'netns'>;

/** Whether a capture filter lets through less than everything. */
export function filtersSomething(filter: CaptureFilter): boolean {
	return filter.family !== 0 || filter.pid !== 0 || filter.localPorts.length > 0 || filter.remotePorts.length > 0 || Boolean(filter.netns);
}

export class FilteredSource implements TransitionSource {
	readonly #inner: TransitionSource;
	readonly #filter: CaptureFilter;
	readonly #localPorts: ReadonlySet<number>;
	readonly #remotePorts: ReadonlySet<number>;
	/**
	 * The kernel's per-socket owner: the first process seen changing the socket's state in its
	 * current lifecycle, kept while the socket's changes follow on from each other.
	 */
	readonly #owners = new Map<number, number>();

	constructor(inner: TransitionSource, filter: CaptureFilter) {
		this.#inner = inner;
		this.#filter = filter;
		this.#localPorts = new Set(filter.localPorts);
		this.#remotePorts = new Set(filter.remotePorts);
	}

	async prepare(): Promise<void> {
		await this.#inner.prepare?.();
	}

	start(handlers: SourceHandlers): void {
		this.#inner.start({
			snapshot: handlers.snapshot && (pass => {
				handlers.snapshot!(this.#pass(pass));
			}),
			pass: handlers.pass && (pass => handlers.pass!(this.#pass(pass))),
			batch: batch => {
				handlers.batch(this.#batch(batch));
			},
			end: handlers.end && (() => {
				handlers.end!();
			}),
			error: error => {
				handlers.error(error);
			},
		});
	}

	async stop(): Promise<void> {
		await this.#inner.stop();
	}

	#batch(batch: TransitionBatch): TransitionBatch {
		const pid = this.#filter.pid;
		return {
			...batch,
			transitions: batch.transitions.filter(t => this.#socketWanted(t) && this.#ownerWanted(t)),
			// The kernel checks the task on the CPU for resets (it keeps no owner for them).
			resets: batch.resets.filter(r => this.#socketWanted(r) && (pid === 0 || r.pid === pid)),
			accepted: batch.accepted.filter(a => this.#socketWanted(a) && (pid === 0 || a.pid === pid)),
		};
	}

	/**
	 * The pid filter does not apply to socket passes: a socket found in a walk has no task. A
	 * pass with a namespace filter walked that namespace only.
	 */
	#pass(pass: SocketPass): SocketPass {
		const {netns} = this.#filter;
		return {
			...pass,
			sockets: pass.sockets.filter(s => this.#socketWanted(s)),
			namespaces: netns ? pass.namespaces.filter(inode => inode === netns) : pass.namespaces,
			counts: netns ? pass.counts?.filter(counted => counted.netns === netns) : pass.counts,
		};
	}

	/** The family, ports and namespace filters. */
	#socketWanted(event: SocketEvent): boolean {
		const {family, netns} = this.#filter;
		return (family === 0 || event.family === family)
			&& (!netns || event.netns === netns)
			&& (this.#localPorts.size === 0 || this.#localPorts.has(event.lport))
			&& (this.#remotePorts.size === 0 || this.#remotePorts.has(event.rport));
	}

	/**
	 * Tracks every change's owner, wanted or not, as the kernel's socket map does, then applies
	 * the pid filter: the task on the CPU or the socket's owner. The kernel knows the time in
	 * the old state (ms) exactly when its entry for the socket follows on from the last change,
	 * and only then does it keep the entry's owner.
	 */
	#ownerWanted(t: Transition): boolean {
		let owner = t.pid;
		if (t.ms !== null) {
			owner = this.#owners.get(t.sock) || owner;
		}

		if (t.newstate === TcpState.CLOSE) {
			this.#owners.delete(t.sock);
		} else {
			this.#owners.set(t.sock, owner);
		}

		const pid = this.#filter.pid;
		return pid === 0 || t.pid === pid || owner === pid;
	}
}
