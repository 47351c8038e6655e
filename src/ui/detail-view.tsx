import {Box, Text} from 'ink';
import type {ConnectionDetail} from './connection-detail.js';
import {useTheme} from './theme.js';

/** One connection in full (Enter on it); Esc or q returns to the list. */
export function DetailView({detail, height}: {readonly detail: ConnectionDetail | undefined; readonly height: number}) {
	const theme = useTheme();
	if (!detail) {
		return <Text wrap="truncate">The connection is no longer tracked. Esc or q returns.</Text>;
	}

	const lines = [
		...detail.fields.map(field => (
			<Text key={field.label} wrap="truncate">
				<Text bold>{field.label.padEnd(12)}</Text>
				<Text bold={field.trouble} color={field.trouble ? theme.trouble : undefined}>{field.value}</Text>
			</Text>
		)),
		<Text key="timeline" bold wrap="truncate">timeline</Text>,
		...detail.timeline.map((line, index) => <Text key={`t${index}`} wrap="truncate">{line}</Text>),
	];
	return (
		<Box flexDirection="column">
			<Text wrap="truncate" bold inverse>
				{' '}{detail.title}{detail.gone ? '  (no longer tracked: the last values seen)' : ''}  · Esc or q returns{' '}
			</Text>
			{lines.slice(0, Math.max(0, height - 1))}
		</Box>
	);
}
