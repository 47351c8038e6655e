import {Text} from 'ink';
import {Fragment} from 'react';
import {TcpState} from '../core/transition.js';
import {displayStateName} from '../core/tcp-states.js';
import type {StateCount} from '../model/connection-table.js';
import {formatCount} from '../core/format.js';
import {useTheme} from './theme.js';

// States in which connections pile up when something is wrong: leaked sockets (CLOSE_WAIT),
// unanswered connects (SYN_SENT), half-open handshakes (SYN_RECV), silent peers (FIN_WAIT2).
const troubleStates = new Set<number>([TcpState.CLOSE_WAIT, TcpState.SYN_SENT, TcpState.SYN_RECV, TcpState.FIN_WAIT2]);

/** Connections per state on one line: ESTAB 1,204 · CLOSE-WAIT 57 · ... */
export function StateCounts({counts}: {readonly counts: readonly StateCount[]}) {
	const theme = useTheme();
	return (
		<Text wrap="truncate">
			{counts.map(({state, count}, index) => {
				const trouble = troubleStates.has(state) && count > 0;
				return (
					<Fragment key={state}>
						{index > 0 ? ' · ' : ''}
						<Text color={trouble ? theme.trouble : undefined} bold={trouble}>
							{displayStateName(state)} {formatCount(count)}
						</Text>
					</Fragment>
				);
			})}
		</Text>
	);
}
