import {Box} from 'ink';
import type {Column} from '../model/columns.js';
import {ColumnTitles} from './column-titles.js';
import {ConnectionRow} from './connection-row.js';
import type {RowView} from './snapshot.js';

/** What a list pane (connections, groups) is drawn from. */
export type ListPaneProps<Row, Shown> = {
	/** The rows to show, already scrolled. */
	readonly rows: readonly Row[];
	readonly shown: readonly Shown[];
	readonly selectedKey: string | undefined;
	readonly sortKey: string;
	readonly descending: boolean;
	readonly width: number;
	readonly focused: boolean;
};

export type ConnectionsPaneProps = ListPaneProps<RowView, Column>;

/** The connection list: a title bar, then one dense line per connection. */
export function ConnectionsPane({rows, shown, selectedKey, sortKey, descending, width, focused}: ConnectionsPaneProps) {
	return (
		<Box flexDirection="column">
			<ColumnTitles shown={shown} sortKey={sortKey} descending={descending} width={width} focused={focused} />
			{rows.map(row => <ConnectionRow key={row.key} row={row} shown={shown} selected={row.key === selectedKey} />)}
		</Box>
	);
}
