// Colours used by the view. Without colour (--no-color, NO_COLOR) every colour is undefined, and
// emphasis that is not colour (bold, dim, inverse) still marks trouble, closed and selected rows.
import {createContext, useContext} from 'react';

export type Theme = {
	/** States that signal trouble (CLOSE_WAIT, SYN_SENT, ...) when any connection is in them. */
	readonly trouble: string | undefined;
	/** Counters that must be zero on a healthy capture: lost events, evictions, filter errors. */
	readonly alarm: string | undefined;
	/** The title bar of the connection list. */
	readonly titleBackground: string | undefined;
	readonly sortedTitleBackground: string | undefined;
};

export const colorTheme: Theme = {
	trouble: 'yellow',
	alarm: 'red',
	titleBackground: 'green',
	sortedTitleBackground: 'cyan',
};

export const plainTheme: Theme = {
	trouble: undefined,
	alarm: undefined,
	titleBackground: undefined,
	sortedTitleBackground: undefined,
};

export const ThemeContext = createContext<Theme>(colorTheme);

export function useTheme(): Theme {
	return useContext(ThemeContext);
}
