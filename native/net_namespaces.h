// The network namespaces on the host, to walk the sockets of each: a socket iterator lists
// the namespace of the thread that creates it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tcptop {

struct NetNamespace {
	uint32_t inode;   // what the kernel reports as the namespace's ns.inum
	int fd;           // open on the namespace (the caller's own included)
	std::string path; // where it was opened from
};

// The calling thread's own namespace first, then every other one that a process is in
// (/proc/<pid>/ns/net) or that a bind mount pins (/run/netns/<name>), once each. An open
// descriptor keeps its namespace alive: close them (CloseNetNamespaces) once the walk is done.
std::vector<NetNamespace> ListNetNamespaces();

// The same from a list made before (`known`, the own namespace first): each opened again from
// the path it was found at, those gone (or whose path now names another) left out. Costs an
// open a namespace, where a listing reads a link per process.
std::vector<NetNamespace> ReopenNetNamespaces(const std::vector<NetNamespace>& known);
void CloseNetNamespaces(std::vector<NetNamespace>& namespaces);

// Moves the calling thread (only) into the namespace open on `fd`. Returns 0 or a negative errno.
int EnterNetNamespace(int fd);

} // namespace tcptop
