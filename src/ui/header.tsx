import {Text} from 'ink';
import {formatDuration} from '../core/format.js';
import {sanitize} from '../core/sanitize.js';

export type HeaderProps = {
	readonly host: string;
	readonly kernel: string;
	readonly uptimeMs: number;
	readonly delaySeconds: number;
	readonly paused: boolean;
};

/** top's first line: where, since when, how often. A replay's host and kernel come from its file. */
export function Header({host, kernel, uptimeMs, delaySeconds, paused}: HeaderProps) {
	return (
		<Text wrap="truncate">
			<Text bold>tcptop</Text> - {sanitize(host)} - Linux {sanitize(kernel)} - up {formatDuration(uptimeMs)} - refresh {delaySeconds}s
			{paused ? <Text inverse bold> PAUSED </Text> : ''}
		</Text>
	);
}
