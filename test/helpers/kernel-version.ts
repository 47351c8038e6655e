// What the running kernel can do, by its release: some hooks tcptop uses came in later kernels.
import {release} from 'node:os';

/** Whether the running kernel's release is at least major.minor. */
export function kernelAtLeast(major: number, minor: number): boolean {
	const [hasMajor = 0, hasMinor = 0] = release().split('.').map(Number);
	return hasMajor > major || (hasMajor === major && hasMinor >= minor);
}

/** Whether tcptop counts the kernel's drops here: skb:kfree_skb names the receiving socket from Linux 6.11. */
export const tracesDrops = kernelAtLeast(6, 11);
