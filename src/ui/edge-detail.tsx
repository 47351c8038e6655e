import {Box, Text} from 'ink';
import {displayStateName} from '../core/tcp-states.js';
import {longWindowMs, shortWindowMs, timedEdges, type DurationBucket, type Quantiles, type WindowedDurations} from '../model/durations.js';
import {latency} from '../model/group-columns.js';

/** A timed edge's distributions, as the view shows them (Enter on the edge in the Transitions pane). */
export type EdgeDetail = {
	readonly title: string;
	/** A line of figures under the title (a group's). */
	readonly facts?: string;
	/** Over the last 10 and 60 seconds. */
	readonly short: Quantiles | undefined;
	readonly long: Quantiles | undefined;
	/** The last 60 seconds', in buckets doubling in width. */
	readonly buckets: readonly DurationBucket[];
};

/** The detail of the edge a Transitions row key names ("edge FROM TO"); undefined for another row. */
export function edgeDetail(key: string, of: (from: number, to: number) => WindowedDurations | undefined, nowMs: number): EdgeDetail | undefined {
	const [kind, fromText, toText] = key.split(' ');
	const from = Number(fromText);
	const to = Number(toText);
	const durations = kind === 'edge' ? of(from, to) : undefined;
	const timed = timedEdges.find(edge => edge.from === from && edge.to === to);
	if (!durations || !timed) {
		return undefined;
	}

	return {
		title: `${displayStateName(from)} → ${displayStateName(to)}: ${timed.what}, the time in ${displayStateName(from)}`,
		short: durations.quantiles(nowMs, shortWindowMs),
		long: durations.quantiles(nowMs, longWindowMs),
		buckets: durations.buckets(nowMs, longWindowMs),
	};
}

/** A group's detail (i on it): its figures, and its handshakes over the last 10 and 60 seconds. */
export function groupDetail(title: string, key: string, facts: string, handshakes: WindowedDurations | undefined, nowMs: number): EdgeDetail {
	return {
		title: `${title} ${key}: handshakes (connect() or the SYN received, to ESTABLISHED)`,
		facts,
		short: handshakes?.quantiles(nowMs, shortWindowMs),
		long: handshakes?.quantiles(nowMs, longWindowMs),
		buckets: handshakes?.buckets(nowMs, longWindowMs) ?? [],
	};
}

/** Quantiles for both windows, then the last minute's distribution as bars on a doubling (log) scale. */
export function EdgeDetailView({detail, height, width, missing}: {readonly detail: EdgeDetail | undefined; readonly height: number; readonly width: number; readonly missing: string}) {
	if (!detail) {
		return <Text wrap="truncate">{missing} Esc or q returns.</Text>;
	}

	const row = (label: string, quantiles: Quantiles | undefined) => quantiles
		? `${label.padEnd(10)}${String(quantiles.count).padStart(8)}${[quantiles.p50, quantiles.p90, quantiles.p99, quantiles.max].map(ms => latency(ms).padStart(9)).join('')}`
		: `${label.padEnd(10)}${'none'.padStart(8)}`;
	const most = Math.max(1, ...detail.buckets.map(bucket => bucket.count));
	const labelWidth = 19;
	const room = Math.max(1, width - labelWidth - 10);
	const bars = detail.buckets.map(bucket => {
		const range = `${bucket.fromMs === 0 ? '' : latency(bucket.fromMs)}–${latency(bucket.toMs)}`;
		const bar = '█'.repeat(Math.round((bucket.count / most) * room)) || (bucket.count > 0 ? '▏' : '');
		return `${range.padStart(labelWidth - 1)} ${bar} ${bucket.count}`;
	});
	const lines = [
		...(detail.facts ? [detail.facts, ''] : []),
		`${''.padEnd(10)}${'count'.padStart(8)}${['p50', 'p90', 'p99', 'max'].map(title => title.padStart(9)).join('')}`,
		row('last 10s', detail.short),
		row('last 60s', detail.long),
		'',
		'the last 60s, by time (each bucket twice as wide as the one before):',
		...bars,
	];
	return (
		<Box flexDirection="column">
			<Text wrap="truncate" bold inverse> {detail.title}  · Esc or q returns </Text>
			{lines.slice(0, Math.max(0, height - 1)).map((line, index) => <Text key={index} wrap="truncate">{line}</Text>)}
		</Box>
	);
}
