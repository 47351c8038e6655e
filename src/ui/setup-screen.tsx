import {Box, Text} from 'ink';
import {columnByKey} from '../model/columns.js';
import {groupKindByKey} from '../model/groups.js';
import {sortOrderByKey} from '../model/sort-orders.js';
import {setupLines, type SetupLine} from './view-state.js';
import type {Settings} from './settings.js';

function lineText(line: SetupLine, settings: Settings): string {
	switch (line.kind) {
		case 'delay': {
			return `Refresh              ${settings.delaySeconds}s`;
		}

		case 'sort': {
			return `Sort                 ${sortOrderByKey(settings.sortKey)?.title ?? settings.sortKey}`;
		}

		case 'groupBy': {
			return `Group by             ${settings.groupBy === undefined ? 'none' : groupKindByKey(settings.groupBy)?.title ?? settings.groupBy}`;
		}

		case 'color': {
			return `Colours              ${settings.color ? 'on' : 'off'}`;
		}

		case 'column': {
			return `Column         [${line.shown ? 'x' : ' '}]  ${columnByKey(line.key)?.title ?? line.key}`;
		}
	}
}

/** htop's F2: the view's settings, one highlighted; saved to tcptoprc when it closes. */
export function SetupScreen({settings, index, height, path}: {readonly settings: Settings; readonly index: number; readonly height: number; readonly path: string}) {
	const lines = setupLines(settings);
	const room = Math.max(1, height - 2);
	const first = Math.max(0, Math.min(index - room + 1, lines.length - room));
	return (
		<Box flexDirection="column">
			<Text wrap="truncate" bold inverse> Setup (↑ ↓ choose, ← → space change, [ ] move a column, Esc or F2 saves to {path}) </Text>
			{lines.slice(first, first + room).map((line, at) => (
				<Text key={line.kind === 'column' ? line.key : line.kind} wrap="truncate" inverse={first + at === index}>
					{'  '}{lineText(line, settings)}
				</Text>
			))}
		</Box>
	);
}
