package dev.keel.agent;

/**
 * The process at the other end of a Workload API connection, from the kernel's peer credentials
 * of the Unix socket (SO_PEERCRED): trustworthy, unlike anything the client says about itself.
 */
public record WorkloadProcess(int pid, int uid, int gid) {
}
