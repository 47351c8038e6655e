// What the benchmarks of a big host share: established loopback sockets held by other
// processes (bench/hold-connections.ts), and the median of a list of figures.
import {spawn, type ChildProcess} from 'node:child_process';
import {once} from 'node:events';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));

/** Holds `sockets` established loopback sockets (sockets / 2 connections); returns the holders. */
export async function holdSockets(sockets: number): Promise<ChildProcess[]> {
	const holders: ChildProcess[] = [];
	for (let left = sockets / 2; left > 0; left -= 8000) {
		const child = spawn('bash', ['-c', `ulimit -n 20000 && exec ${process.execPath} --import=tsx ${here}bench/hold-connections.ts ${Math.min(8000, left)}`], {stdio: ['ignore', 'pipe', 'inherit']});
		holders.push(child);
	}

	await Promise.all(holders.map(async child => once(createInterface({input: child.stdout!}), 'line')));
	return holders;
}

export function median(list: readonly number[]): number {
	const sorted = [...list].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)]!;
}
