#include "net_namespaces.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_set>

namespace tcptop {
namespace {

bool AllDigits(const char* name)
{
	if (*name == '\0') {
		return false;
	}
	for (; *name != '\0'; name++) {
		if (*name < '0' || *name > '9') {
			return false;
		}
	}
	return true;
}

// The inode of the namespace a /proc/<pid>/ns/net link names ("net:[4026531840]"), or 0.
uint32_t LinkedInode(const std::string& path)
{
	char target[64];
	ssize_t length = readlink(path.c_str(), target, sizeof(target) - 1);
	if (length <= 0) {
		return 0;
	}
	target[length] = '\0';
	if (strncmp(target, "net:[", 5) != 0) {
		return 0;
	}
	return static_cast<uint32_t>(strtoul(target + 5, nullptr, 10));
}

class Lister {
public:
	Lister()
	{
		int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		struct stat status = {};
		if (own >= 0 && fstat(own, &status) == 0) {
			nsfsDevice_ = status.st_dev;
			Add(static_cast<uint32_t>(status.st_ino), own, "/proc/thread-self/ns/net");
		} else if (own >= 0) {
			close(own);
		}
	}

	// A path that may name a namespace of `inode` (0: not known before opening it).
	void Consider(const std::string& path, uint32_t inode)
	{
		if (inode != 0 && seen_.count(inode) != 0) {
			return;
		}
		int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			return; // the process exited, or the mount is gone
		}
		struct stat status = {};
		// A file under /run/netns that nothing is mounted on is not a namespace: only nsfs
		// files share the device of our own namespace's.
		if (fstat(fd, &status) != 0 || status.st_dev != nsfsDevice_ ||
		    seen_.count(static_cast<uint32_t>(status.st_ino)) != 0 ||
		    (inode != 0 && static_cast<uint32_t>(status.st_ino) != inode)) {
			close(fd);
			return;
		}
		Add(static_cast<uint32_t>(status.st_ino), fd, path);
	}

	std::vector<NetNamespace> Take() { return std::move(list_); }

private:
	void Add(uint32_t inode, int fd, const std::string& path)
	{
		seen_.insert(inode);
		list_.push_back({inode, fd, path});
	}

	std::vector<NetNamespace> list_;
	std::unordered_set<uint32_t> seen_;
	dev_t nsfsDevice_ = 0;
};

} // namespace

std::vector<NetNamespace> ListNetNamespaces()
{
	Lister lister;
	if (DIR* pinned = opendir("/run/netns")) {
		while (dirent* entry = readdir(pinned)) {
			if (entry->d_name[0] != '.') {
				lister.Consider(std::string("/run/netns/") + entry->d_name, 0);
			}
		}
		closedir(pinned);
	}
	if (DIR* proc = opendir("/proc")) {
		while (dirent* entry = readdir(proc)) {
			if (AllDigits(entry->d_name)) {
				std::string path = std::string("/proc/") + entry->d_name + "/ns/net";
				// Most processes share a few namespaces: the link names one without opening it.
				uint32_t inode = LinkedInode(path);
				if (inode != 0) {
					lister.Consider(path, inode);
				}
			}
		}
		closedir(proc);
	}
	return lister.Take();
}

std::vector<NetNamespace> ReopenNetNamespaces(const std::vector<NetNamespace>& known)
{
	Lister lister;
	for (size_t index = 1; index < known.size(); index++) {
		lister.Consider(known[index].path, known[index].inode);
	}
	return lister.Take();
}

void CloseNetNamespaces(std::vector<NetNamespace>& namespaces)
{
	for (NetNamespace& space : namespaces) {
		if (space.fd >= 0) {
			close(space.fd);
			space.fd = -1;
		}
	}
	namespaces.clear();
}

int EnterNetNamespace(int fd)
{
	return setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
}

} // namespace tcptop
