// marked's configuration for the manual page (npm run man): marked-man's roff renderer, with two
// changes to what it writes.
import markedMan from 'marked-man';

const {heading, codespan} = markedMan.renderer;

export default {
	renderer: {
		// After the title, no hyphenation and a ragged right margin: option names, metric names
		// and JSON fields would otherwise be split at their hyphens or syllables, and lines
		// around them stretched (groff keeps both through every later section).
		heading(text, level, raw) {
			const roff = heading.call(this, text, level, raw);
			return level === 1 ? `${roff}.nh\n.ad l\n` : roff;
		},
		// marked escapes quotes in code as HTML entities, and marked-man turns back only &, < and >.
		codespan(code) {
			return codespan.call(this, code).replaceAll('&quot;', '"').replaceAll('&#39;', '\'');
		},
	},
};
