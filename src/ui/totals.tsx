import {Text} from 'ink';
import type {Snapshot} from './snapshot.js';
import {formatCount, formatRate} from '../core/format.js';
import {useTheme} from './theme.js';

/** Connections tracked, the rates that matter, and the counters that must stay zero. */
export function Totals({snapshot}: {readonly snapshot: Snapshot}) {
	const theme = useTheme();
	const alarm = (value: number) => (value > 0 ? {color: theme.alarm, bold: true} : {});
	return (
		<Text wrap="truncate">
			tracked {formatCount(snapshot.tracked)} · new {formatRate(snapshot.opened)}/s · closes {formatRate(snapshot.closed)}/s
			· failed {formatRate(snapshot.failedConnects)}/s · resets {formatRate(snapshot.resets)}/s
			· transitions {formatRate(snapshot.transitions)}/s
			{snapshot.retransmits === undefined ? '' : ` · retrans ${formatRate(snapshot.retransmits)}/s`}
			{snapshot.listenDrops === undefined ? '' : <>{' · '}<Text {...alarm(snapshot.listenDrops)}>listen drops {formatRate(snapshot.listenDrops)}/s</Text></>}
			{snapshot.drops === undefined ? '' : <>{' · '}<Text {...alarm(snapshot.drops)}>drops {formatRate(snapshot.drops)}/s</Text></>}
			{' · '}<Text {...alarm(snapshot.lost)}>lost {formatCount(snapshot.lost)}</Text>
			{' · '}<Text {...alarm(snapshot.evictions)}>evicted {formatCount(snapshot.evictions)}</Text>
		</Text>
	);
}
