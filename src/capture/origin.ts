// The two origins a table's events can have (see core/origin.ts): this host from now, or a
// recording on the replay's clock.
import {hostname, release} from 'node:os';
import {monotonicNow, type Origin} from '../core/origin.js';
import {namespaceNamer} from './net-namespaces.js';
import type {ReplaySource} from './replay-source.js';

/** This host, from now. */
export function liveOrigin(): Origin {
	return {
		host: hostname(),
		kernel: release(),
		now: monotonicNow,
		startedAtMs: monotonicNow(),
		wallNow: Date.now,
		setTimer(atMs, callback) {
			// A live capture cannot wait for the output: what the callback returns is not awaited.
			const timer = setTimeout(() => void callback(), Math.max(0, atMs - monotonicNow()));
			return () => {
				clearTimeout(timer);
			};
		},
		namespaceName: namespaceNamer(),
	};
}

/** The recorded host, on the replay's clock. */
export function replayOrigin(replay: ReplaySource): Origin {
	const {host, kernel, started, monoStartMs} = replay.header;
	const startedWallMs = Date.parse(started);
	return {
		host,
		kernel,
		now: () => replay.now(),
		startedAtMs: monoStartMs,
		wallNow: () => startedWallMs + (replay.now() - monoStartMs),
		setTimer: (atMs, callback) => replay.setTimer(atMs, callback),
	};
}
