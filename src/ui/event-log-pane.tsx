import {Box, Text} from 'ink';
import {logTitle, type LogLine} from './log-line.js';
import {useTheme} from './theme.js';

export type EventLogPaneProps = {
	/** Newest first, already filtered. */
	readonly lines: readonly LogLine[];
	readonly height: number;
	readonly width: number;
};

/** The latest transitions that pass the filters, newest first (`l` shows and hides it). */
export function EventLogPane({lines, height, width}: EventLogPaneProps) {
	const theme = useTheme();
	return (
		<Box flexDirection="column">
			<Text wrap="truncate" bold underline>{logTitle.padEnd(width)}</Text>
			{lines.slice(0, Math.max(0, height - 1)).map((line, index) => (
				// Lines move down as new ones arrive: the position is their identity on screen.
				<Text key={index} wrap="truncate" color={line.failure ? theme.trouble : undefined}>{line.text}</Text>
			))}
		</Box>
	);
}
