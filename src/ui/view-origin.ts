// Where the view's connections come from, and the clock it reads their times on
// (src/capture/origin.ts), with what the status line says about a replay.
import {liveOrigin as hostOrigin, replayOrigin as recordedOrigin} from '../capture/origin.js';
import type {Origin} from '../core/origin.js';
import type {ReplaySource} from '../capture/replay-source.js';

export type ViewOrigin = Origin & {
	/** Shown at the start of the status line when it returns text (how a replay is going). */
	readonly notice?: () => string | undefined;
};

export function liveOrigin(): ViewOrigin {
	return hostOrigin();
}

/** `warnings` are the replay's, as it reports them; the last one shows once the replay has ended. */
export function replayOrigin(replay: ReplaySource, warnings: readonly string[]): ViewOrigin {
	const pace = replay.speed === 0 ? 'as fast as it reads' : `at ${replay.speed}x`;
	return {
		...recordedOrigin(replay),
		notice() {
			if (!replay.ended) {
				return `Replay ${pace}`;
			}

			const warning = warnings.at(-1);
			return `Replay ended${warning === undefined ? '' : ` (${warning})`}, q quits`;
		},
	};
}
