package io.ports.health;

/**
 * A process seen on this host.
 *
 * @param pid     process id
 * @param command its command name ({@code /proc/PID/comm}), empty when not readable
 */
public record ProcessInfo(long pid, String command) {
    public ProcessInfo {
        if (pid <= 0) {
            throw new IllegalArgumentException("process id " + pid + " must be positive");
        }
        command = command == null ? "" : command;
    }

    /** For example {@code "pid 42 (postgres)"}. */
    @Override
    public String toString() {
        return "pid " + pid + (command.isEmpty() ? "" : " (" + command + ")");
    }
}
