// Waiting for a stream that did not take a write (write() returned false).
import {once} from 'node:events';
import type {Writable} from 'node:stream';

/** Resolves once the stream takes writes again, or can no longer. */
export async function drained(out: Writable): Promise<void> {
	const gone = new AbortController();
	try {
		await Promise.race([once(out, 'drain', {signal: gone.signal}), once(out, 'close', {signal: gone.signal})]);
	} catch {
		// An error on the stream: the run's error handler has it.
	} finally {
		gone.abort();
	}
}
