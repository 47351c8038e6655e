// How the lines under the header are shared between the panes. The focused pane gets the larger
// share; the Transitions pane takes no more than its rows need, drawn as a bordered table when
// that fits, and the event log (when shown) a quarter. A terminal too short for two panes shows
// only the focused one.
import type {Pane} from './view-state.js';

/** Lines per pane, each including its title line; 0 for a pane not shown. */
export type PaneHeights = {
	readonly connections: number;
	readonly transitions: number;
	readonly log: number;
	/** The Transitions pane draws its bordered table (else one dense line per row). */
	readonly table: boolean;
};

/** Below this many lines only the focused pane is shown. */
export const minimumForPanes = 8;

/** Lines the bordered table takes: a title, top border, headings, a separator before each row, bottom. */
export function tableHeight(rows: number): number {
	return 4 + (2 * rows);
}

export function paneHeights(available: number, options: {focus: Pane; log: boolean; transitionRows: number; tableWidthFits: boolean}): PaneHeights {
	const {focus, transitionRows, tableWidthFits} = options;
	if (available < minimumForPanes) {
		const all = Math.max(1, available);
		return focus === 'connections'
			? {connections: all, transitions: 0, log: 0, table: false}
			: {connections: 0, transitions: all, log: 0, table: false};
	}

	const log = options.log ? Math.max(3, Math.min(15, Math.floor(available / 4))) : 0;
	const rest = available - log;
	const share = Math.max(3, focus === 'transitions' ? Math.floor((rest * 2) / 3) : Math.floor(rest / 3));
	const table = tableWidthFits && tableHeight(transitionRows) <= share;
	const transitions = table ? tableHeight(transitionRows) : Math.min(share, 1 + transitionRows);
	return {connections: rest - transitions, transitions, log, table};
}
