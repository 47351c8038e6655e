import {Text} from 'ink';
import type {Column} from '../model/columns.js';
import {rowText} from '../model/row-text.js';
import type {RowView} from './snapshot.js';
import {useTheme} from './theme.js';

export type ConnectionRowProps = {
	readonly row: RowView;
	readonly shown: readonly Column[];
	readonly selected: boolean;
};

/** One connection, one <Text>: closed ones dimmed while they linger, stuck ones in trouble colour. */
export function ConnectionRow({row, shown, selected}: ConnectionRowProps) {
	const theme = useTheme();
	return (
		<Text
			wrap="truncate"
			inverse={selected}
			dimColor={row.closed}
			bold={row.stuck}
			color={row.stuck ? theme.trouble : undefined}
		>
			{rowText(row.cells, shown)}
		</Text>
	);
}
