import {Text} from 'ink';
import type {Column} from '../model/columns.js';
import {cell} from '../model/row-text.js';
import {useTheme} from './theme.js';

/** What a title bar needs of a column (the connection list's, the group list's). */
type TitledColumn = Pick<Column, 'key' | 'title' | 'width' | 'align'>;

export type ColumnTitlesProps = {
	readonly shown: readonly TitledColumn[];
	readonly sortKey: string;
	readonly descending: boolean;
	readonly width: number;
	/** The pane has the focus: the bar is highlighted. */
	readonly focused: boolean;
};

/** The title bar; the sorted column carries its direction (▲ ascending, ▼ descending). */
export function ColumnTitles({shown, sortKey, descending, width, focused}: ColumnTitlesProps) {
	const theme = useTheme();
	const style = focused
		? {inverse: theme.titleBackground === undefined, backgroundColor: theme.titleBackground, color: theme.titleBackground ? 'black' : undefined}
		: {bold: true};
	return (
		<Text wrap="truncate" {...style}>
			{shown.map((column, index) => {
				const sorted = column.key === sortKey;
				// The marker takes the title's last character when the title fills the column.
				const title = sorted ? `${column.title.slice(0, column.width - 1)}${descending ? '▼' : '▲'}` : column.title;
				return (
					<Text key={column.key} bold={sorted} backgroundColor={sorted && focused ? theme.sortedTitleBackground : undefined}>
						{index > 0 ? ' ' : ''}{cell(title, column)}
					</Text>
				);
			})}
			{' '.repeat(Math.max(0, width - lineWidth(shown)))}
		</Text>
	);
}

function lineWidth(shown: readonly TitledColumn[]): number {
	return shown.reduce((sum, column) => sum + column.width, 0) + Math.max(0, shown.length - 1);
}
