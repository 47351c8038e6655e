// Control group paths as container runtimes, Kubernetes and systemd lay them out.
import test from 'ava';
import {cgroupFromProcFile, describeCgroup} from '../src/capture/cgroups.js';

const id = '3f2a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8';
const uid = '6b1f0c2e-9d3a-4e5b-8c7d-1a2b3c4d5e6f';

test('container runtimes\' scopes and directories give the 12-character id', t => {
	for (const path of [
		`/system.slice/docker-${id}.scope`,
		`/machine.slice/libpod-${id}.scope/container`,
		`/system.slice/crio-${id}.scope`,
		`/docker/${id}`,
	]) {
		t.deepEqual(describeCgroup(path), {container: id.slice(0, 12)}, path);
	}
});

test('kubepods paths give the pod UID and the container id, with either cgroup driver', t => {
	t.deepEqual(
		describeCgroup(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope`),
		{container: id.slice(0, 12), pod: uid},
	);
	t.deepEqual(describeCgroup(`/kubepods/besteffort/pod${uid}/${id}`), {container: id.slice(0, 12), pod: uid});
	t.deepEqual(describeCgroup(`/kubepods/besteffort/pod${uid}`), {pod: uid}, 'the pod\'s own cgroup');
});

test('outside containers: a systemd unit, or nothing', t => {
	t.deepEqual(describeCgroup('/system.slice/nginx.service'), {container: 'nginx.service'});
	t.deepEqual(describeCgroup('/user.slice/user-1000.slice/session-3.scope'), {container: 'session-3.scope'});
	t.deepEqual(describeCgroup('/user.slice'), {});
	t.deepEqual(describeCgroup('/process_api/308ac59f44c67ad90c7f2964a7173995'), {});
	t.deepEqual(describeCgroup('/'), {});
	t.deepEqual(describeCgroup(`/docker-${id.slice(1)}.scope`), {container: `docker-${id.slice(1)}.scope`}, 'an id is 64 hexadecimal digits: else a unit');
});

test('/proc/PID/cgroup: the unified hierarchy\'s path, or a v1 one that says more on a hybrid host', t => {
	t.is(cgroupFromProcFile(`0::/system.slice/docker-${id}.scope\n`), `/system.slice/docker-${id}.scope`, 'cgroup v2');
	const hybrid = [
		'9:name=systemd:/docker/' + id, '4:memory:/docker/' + id, '1:cpu:/docker/' + id, '0::/', '',
	].join('\n');
	t.is(cgroupFromProcFile(hybrid), `/docker/${id}`, 'v1 driver on a hybrid host: the unified path is the root');
	t.is(cgroupFromProcFile('9:name=systemd:/\n4:memory:/process_api/abc\n0::/\n'), '/process_api/abc', 'no container anywhere: the first path there is');
	t.is(cgroupFromProcFile('0::/user.slice/user-0.slice/session-1.scope\n'), '/user.slice/user-0.slice/session-1.scope');
	t.is(cgroupFromProcFile('9:name=systemd:/\n0::/\n'), undefined, 'the root alone');
	t.is(cgroupFromProcFile('0::/a:b/c\n'), '/a:b/c', 'a path may hold colons');
});
