// The tests that load the machine at the load generator's full rate and time what tcptop does
// meanwhile (a print a second, a scrape a second), and those that capture everything the host
// does and compare it whole, take turns across test files (ava runs two at once, in processes
// of their own): on 2 cores two loads would time each other, and a capture of the host taken
// during a load holds a few hundred thousand changes of it.
import {closeSync, openSync, readFileSync, rmSync, writeSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';

const lock = join(tmpdir(), `tcptop-tests-${process.getuid?.() ?? 0}.load.lock`);

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** Runs `work` while no other test process runs a full-rate load or a capture of the whole host. */
export async function alone<T>(work: () => Promise<T>): Promise<T> {
	for (;;) {
		try {
			const fd = openSync(lock, 'wx');
			writeSync(fd, String(process.pid));
			closeSync(fd);
			break;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
				throw error;
			}

			// A holder killed before it let go leaves its pid behind.
			let holder: number;
			try {
				holder = Number(readFileSync(lock, 'utf8'));
			} catch {
				continue; // let go meanwhile
			}

			if (holder > 0 && !alive(holder)) {
				rmSync(lock, {force: true});
				continue;
			}

			await delay(200);
		}
	}

	try {
		return await work();
	} finally {
		rmSync(lock, {force: true});
	}
}
