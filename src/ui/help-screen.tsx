import {Box, Text} from 'ink';

const keys: ReadonlyArray<readonly [string, string]> = [
	['↑ ↓ PgUp PgDn Home End j k', 'move the selection in the focused pane'],
	['< > F6', 'sort the focused pane by the previous / next column on screen; F6: from a list'],
	['I r', 'invert the focused pane\'s sort order'],
	['P S A T', 'sort by PID, state, age, throughput (TX/s)'],
	['/ F3', 'search: the next row showing the text; n N F3 next, previous'],
	['\\ F4', 'filter (ss syntax: state close-wait and dport = :5432); / searches now, as in htop'],
	['s', 'cycle the state filter: all, established, close-wait, syn-sent, time-wait, ...'],
	['F2', 'setup: columns shown and their order, refresh, sort, grouping, colours (saved to tcptoprc)'],
	['g', 'group the list: by process, remote host, remote net, service, container, state, none'],
	['i', 'on a group: its detail, with its handshakes as quantiles and bars'],
	['space p', 'pause the display (capture and counts go on)'],
	['Tab', 'move the focus between Connections and Transitions'],
	['Enter', 'the selected connection in detail (Esc or q returns); on a group, its connections (Esc back)'],
	['l', 'show or hide the event log (latest transitions that pass the filter)'],
	['c', 'clear closed connections still shown'],
	['? h F1', 'this help'],
	['q F10 Ctrl-C', 'quit'],
];

/** Every key on one screen; any key returns to the list. */
export function HelpScreen() {
	return (
		<Box flexDirection="column">
			<Text bold wrap="truncate">Keys (any key returns)</Text>
			{keys.map(([key, meaning]) => (
				<Text key={key} wrap="truncate"><Text bold>{key.padEnd(28)}</Text>{meaning}</Text>
			))}
			<Text wrap="truncate"> </Text>
			<Text wrap="truncate">Dimmed rows closed a moment ago; bold rows are stuck (CLOSE-WAIT, SYN-SENT, ... too long).</Text>
		</Box>
	);
}
