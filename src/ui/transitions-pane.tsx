import {Table, type CellProps} from '@alcalzone/ink-table';
import {Box, Text} from 'ink';
import {createContext, useContext, type PropsWithChildren} from 'react';
import {formatCount} from '../core/format.js';
import {latency} from '../model/group-columns.js';
import {sparkline} from './sparkline.js';
import {useTheme} from './theme.js';
import {formatEdgeRate, sparklineSeconds, transitionColumns, type TransitionRow} from './transitions-summary.js';

export type TransitionsPaneProps = {
	/** Every row, sorted. */
	readonly rows: readonly TransitionRow[];
	readonly height: number;
	readonly width: number;
	/** Draw the bordered table (the layout found room for it). */
	readonly table: boolean;
	readonly focused: boolean;
	readonly selectedKey: string | undefined;
	readonly offset: number;
	readonly sortKey: string;
	readonly descending: boolean;
};

/** Below this width the times (p50, p99) give their room to the sparkline. */
const timesFromWidth = 100;

/** The columns shown at a width: the times only where they leave the sparkline room. */
function columnCount(width: number): number {
	return width >= timesFromWidth ? transitionColumns.length : transitionColumns.length - 2;
}

/** The cells of one row, by column title; the sparkline is added to fit the width. */
function cellsOf(row: TransitionRow, width: number): string[] {
	const cells = [row.label, formatCount(row.total), formatEdgeRate(row.rate1), formatEdgeRate(row.rate10), formatEdgeRate(row.rate60), row.p50 === undefined ? '' : latency(row.p50), row.p99 === undefined ? '' : latency(row.p99)];
	return cells.slice(0, columnCount(width));
}

function headings(sortKey: string, descending: boolean, width: number): string[] {
	return transitionColumns.slice(0, columnCount(width)).map(column => (column.key === sortKey ? `${column.title}${descending ? '▼' : '▲'}` : column.title));
}

const sparklineTitle = `LAST ${sparklineSeconds}s`;

/** Widths of the dense list's columns; the sparkline takes what is left, up to a character a second. */
const denseWidths = [25, 9, 7, 7, 7, 7, 7];
function denseFixed(width: number): number {
	return denseWidths.slice(0, columnCount(width)).reduce((sum, columnWidth) => sum + columnWidth + 1, 0);
}

/** The room the bordered table leaves for the sparkline (each cell is padded by one on both sides). */
export function tableSparklineWidth(rows: readonly TransitionRow[], width: number, sortKey: string, descending: boolean): number {
	const titles = headings(sortKey, descending, width);
	const cells = rows.map(row => cellsOf(row, width));
	let used = titles.length + 2;
	for (const [index, title] of titles.entries()) {
		used += Math.max(title.length, ...cells.map(row => row[index]!.length)) + 2;
	}

	return Math.min(sparklineSeconds, width - used - 2);
}

/** A table needs at least this much sparkline to be worth its borders. */
export const minimumTableSparkline = 10;

/** Which rows are highlighted, for the table's cells (the table renders them without the row at hand). */
const Highlight = createContext<{failing: ReadonlySet<string>; selected: string | undefined; trouble: string | undefined}>({
	failing: new Set(), selected: undefined, trouble: undefined,
});

function TableCell({column, children}: CellProps) {
	const {failing, selected, trouble} = useContext(Highlight);
	const label = column === 0 && typeof children === 'string' ? children.trim() : undefined;
	const failure = label !== undefined && failing.has(label);
	return <Text inverse={label !== undefined && label === selected} bold={failure} color={failure ? trouble : undefined}>{children}</Text>;
}

function TableHeading({children}: PropsWithChildren) {
	return <Text bold>{children}</Text>;
}

/** Failure rows are highlighted while they happen: any in the last minute. */
function isActiveFailure(row: TransitionRow): boolean {
	return row.failure && row.rate60 > 0;
}

/**
 * Rates of every OLD → NEW edge and of the named series, over 1, 10 and 60 s, with the last
 * minute as a sparkline: a bordered table when there is room, else one line per row.
 */
export function TransitionsPane({rows, height, width, table, focused, selectedKey, offset, sortKey, descending}: TransitionsPaneProps) {
	const theme = useTheme();
	const titleStyle = focused
		? {inverse: theme.titleBackground === undefined, backgroundColor: theme.titleBackground, color: theme.titleBackground ? 'black' : undefined}
		: {};
	const titles = headings(sortKey, descending, width);
	if (table) {
		const spark = tableSparklineWidth(rows, width, sortKey, descending);
		const data = rows.map(row => {
			const cells = cellsOf(row, width);
			const entry: Record<string, string> = {};
			for (const [index, title] of titles.entries()) {
				entry[title] = cells[index]!;
			}

			entry[sparklineTitle] = sparkline(row.history, spark).padEnd(spark);
			return entry;
		});
		const failing = new Set(rows.filter(row => isActiveFailure(row)).map(row => row.label));
		const selected = focused ? rows.find(row => row.key === selectedKey)?.label : undefined;
		return (
			<Box flexDirection="column">
				<Text wrap="truncate" bold {...titleStyle}>{'Transitions'.padEnd(width)}</Text>
				<Highlight.Provider value={{failing, selected, trouble: theme.trouble}}>
					<Table
						data={data}
						columns={[...titles.map((key, index) => ({key, align: index === 0 ? 'left' as const : 'right' as const})), {key: sparklineTitle, align: 'left' as const}]}
						cell={TableCell}
						header={TableHeading}
					/>
				</Highlight.Provider>
			</Box>
		);
	}

	const spark = Math.min(sparklineSeconds, width - denseFixed(width));
	const line = (cells: readonly string[], sparkText: string) => cells.map((text, index) => {
		const cut = text.slice(0, denseWidths[index]);
		return index === 0 ? cut.padEnd(denseWidths[index]!) : cut.padStart(denseWidths[index]!);
	}).join(' ') + (spark > 0 ? ` ${sparkText}` : '');
	const visible = rows.slice(offset, offset + Math.max(0, height - 1));
	return (
		<Box flexDirection="column">
			<Text wrap="truncate" bold {...titleStyle}>{line(titles, sparklineTitle.slice(0, spark).padEnd(spark)).padEnd(width)}</Text>
			{visible.map(row => {
				const failure = isActiveFailure(row);
				return (
					<Text key={row.key} wrap="truncate" inverse={focused && row.key === selectedKey} bold={failure} color={failure ? theme.trouble : undefined}>
						{line(cellsOf(row, width), sparkline(row.history, spark))}
					</Text>
				);
			})}
		</Box>
	);
}
