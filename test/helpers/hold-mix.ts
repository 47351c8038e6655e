// Holds a SocketMix (see net.ts) on 127.0.0.1 until its standard input closes, so a test can
// build one inside another network namespace (ip netns exec NS node --import=tsx hold-mix.ts).
//
//   hold-mix.ts ESTABLISHED CLOSE_WAIT TIME_WAIT     prints "ready" once the mix is built
import {openSocketMix} from './net.js';

const [established, closeWait, timeWait] = process.argv.slice(2).map(Number);
const mix = await openSocketMix('127.0.0.1', {established: established!, closeWait: closeWait!, timeWait: timeWait!});
console.log('ready');
process.stdin.resume();
process.stdin.on('end', () => {
	void mix.close().then(() => process.exit(0));
});
