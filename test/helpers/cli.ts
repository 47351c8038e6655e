// Runs the real command, as a user would.
import {execFileSync, spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {once} from 'node:events';
import {readdirSync, readFileSync} from 'node:fs';
import {setTimeout as delay} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {tracesDrops} from './kernel-version.js';

export const tcptop = fileURLToPath(new URL('../../bin/tcptop', import.meta.url));

/** A command prefix (as root) that runs as nobody, with no capabilities. */
export const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];

export type Finished = {code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string};

export function start(args: string[], options: {prefix?: string[]} = {}): ChildProcessWithoutNullStreams {
	const [command, ...rest] = [...(options.prefix ?? []), process.execPath, tcptop, ...args];
	return spawn(command!, rest, {stdio: 'pipe'});
}

export async function finish(child: ChildProcessWithoutNullStreams): Promise<Finished> {
	let stdout = '';
	let stderr = '';
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
		stdout += chunk;
	});
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
		stderr += chunk;
	});
	// 'close', not 'exit': output can still be in the pipes when the process has exited.
	const [code, signal] = await once(child, 'close') as [number | null, NodeJS.Signals | null];
	return {code, signal, stdout, stderr};
}

export async function run(args: string[], options: {prefix?: string[]} = {}): Promise<Finished> {
	return finish(start(args, options));
}

/**
 * BPF links tcptop holds: two state-change handlers, two reset handlers, the SYN-ACK
 * retransmits handler, the retransmits handler, and from Linux 6.11 the drops handler
 * (--accept-owners adds two accept() exits).
 */
export const linksWhileTracing = tracesDrops ? 7 : 6;

/** Resolves with the ids of the child's BPF links once all its programs are attached. */
export async function attached(child: ChildProcessWithoutNullStreams): Promise<number[]> {
	for (;;) {
		if (child.exitCode !== null) {
			throw new Error(`tcptop exited with ${child.exitCode} before attaching`);
		}

		const links = bpfLinksOf(child.pid!);
		if (links.length >= linksWhileTracing) {
			return links;
		}

		await delay(20);
	}
}

/** Ids of the BPF links a process holds open. */
export function bpfLinksOf(pid: number): number[] {
	const ids: number[] = [];
	let fds: string[];
	try {
		fds = readdirSync(`/proc/${pid}/fdinfo`);
	} catch {
		return ids; // the process is gone
	}

	for (const fd of fds) {
		try {
			const id = /^link_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
			if (id) {
				ids.push(Number(id));
			}
		} catch {
			// The fd closed while we looked.
		}
	}

	return ids;
}

/** Ids of every BPF link that exists on the host. */
export function bpfLinksOnHost(): number[] {
	let output: string;
	try {
		output = execFileSync('bpftool', ['-j', 'link', 'show'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']});
	} catch (error) {
		// bpftool fails (EAGAIN) on a link another process is tearing down at that moment, after
		// listing the others: that one is on its way out, so the list stands without it.
		output = (error as {stdout?: string}).stdout ?? '';
		if (output === '') {
			throw error;
		}
	}

	const entries = JSON.parse(output || '[]') as Array<{id?: number; error?: string}>;
	return entries.flatMap(entry => (entry.id === undefined ? [] : [entry.id]));
}
