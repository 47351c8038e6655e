import {Box, Text} from 'ink';
import {showsGroups, sortColumnsOf, type SortPicker as Picker, type ViewState} from './view-state.js';

/** htop's F6: the focused pane's columns, one highlighted; Enter sorts by it, Esc cancels. */
export function SortPicker({picker, view, sortKey, height}: {readonly picker: Picker; readonly view: ViewState; readonly sortKey: string; readonly height: number}) {
	const columns = sortColumnsOf(picker.pane, view);
	const room = Math.max(1, height - 1);
	const first = Math.max(0, Math.min(picker.index - room + 1, columns.length - room));
	return (
		<Box flexDirection="column">
			<Text wrap="truncate" bold inverse> Sort {picker.pane === 'connections' && showsGroups(view) ? 'groups' : picker.pane} by (↑ ↓ choose, Enter sorts, Esc cancels) </Text>
			{columns.slice(first, first + room).map((column, index) => (
				<Text key={column.key} wrap="truncate" inverse={first + index === picker.index}>
					{column.key === sortKey ? '* ' : '  '}{column.title.padEnd(12)}
				</Text>
			))}
		</Box>
	);
}
